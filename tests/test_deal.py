"""The Deal as versioned data: the packaged file, its checks and its two faces."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path

import pytest

from mkdeal.deal import (
    Deal,
    PartnerKind,
    deal_as_dict,
    load_deal,
    render_deal_text,
)
from mkdeal.deal.load import PACKAGED_DEAL_FILE
from mkdeal.errors import ConfigurationError

PACKAGED_TEXT = (
    resources.files("mkdeal.deal").joinpath(PACKAGED_DEAL_FILE).read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def deal() -> Deal:
    return load_deal()


def write_variant(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    """The packaged file with `old` replaced by `new`; fails if `old` is not there."""
    assert PACKAGED_TEXT.count(old) >= count, f"{old!r} not in the packaged Deal file"
    path = tmp_path / "deal.toml"
    path.write_text(PACKAGED_TEXT.replace(old, new, count), encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_deal(path)
    return str(caught.value)


# The packaged file


def test_packaged_deal_loads_with_a_version(deal):
    assert deal.version == "1.2"
    assert deal.release.changes[-1].version == deal.version
    assert deal.release.source.url.startswith("https://healthwatchmiltonkeynes.co.uk/")


def test_packaged_deal_agreed_on_absent_and_explained(deal):
    # No source gives the date, so it is absent and the notes say why.
    assert deal.release.agreed_on is None
    assert "agreed" in deal.release.notes


def test_packaged_deal_has_nine_partners(deal):
    assert len(deal.partners) == 9
    assert {p.kind for p in deal.partners} == set(PartnerKind)


def test_packaged_deal_has_the_four_priorities(deal):
    assert [p.id for p in deal.priorities] == [
        "system_flow",
        "obesity",
        "cyp_mental_health",
        "complex_care",
    ]


def test_packaged_deal_codes_known_for_certain_present(deal):
    assert deal.partner("mkuh").ods_code == "RD8"
    assert deal.partner("cnwl").ods_code == "RV3"
    assert deal.partner("blmk_icb").ods_code == "QHG"
    assert deal.partner("mk_city_council").ons_code == "E06000042"


def test_packaged_deal_uncertain_codes_absent(deal):
    for partner_id in ("mk_pcns", "healthwatch_mk", "thames_valley_police", "vcse"):
        partner = deal.partner(partner_id)
        assert partner.ods_code is None
        assert partner.ons_code is None


def test_packaged_deal_leads_unconfirmed_with_notes(deal):
    for priority in deal.priorities:
        assert priority.confirmed is False
        assert priority.confirmation_note


def test_packaged_deal_system_flow_progress_measures_kept(deal):
    measures = " ".join(deal.priority("system_flow").progress_measures)
    for phrase in ("criteria to reside", "78-week", "30 minutes", "91 days", "two-hour"):
        assert phrase in measures


def test_packaged_deal_measure_ids_are_registered(deal):
    from mkdeal.measures import MEASURES

    linked = [m for p in deal.priorities for m in p.measure_ids]
    assert "flow.handovers_over_30_minutes" in linked
    assert all(m in MEASURES for m in linked)


def test_deal_models_frozen(deal):
    with pytest.raises(ValueError, match="frozen"):
        deal.partners[0].ods_code = "XYZ"


def test_deal_lookup_unknown_id_raises_key_error(deal):
    with pytest.raises(KeyError):
        deal.partner("no_such_partner")


# Broken files


def test_load_deal_duplicate_partner_id_names_the_id(tmp_path):
    path = write_variant(tmp_path, 'id = "cnwl"', 'id = "mkuh"')
    message = load_error(path)
    assert str(path) in message
    assert "partner id 'mkuh' is used more than once" in message


def test_load_deal_duplicate_priority_id_names_the_id(tmp_path):
    path = write_variant(tmp_path, 'id = "obesity"', 'id = "system_flow"')
    assert "priority id 'system_flow' is used more than once" in load_error(path)


def test_load_deal_unknown_lead_names_the_lead(tmp_path):
    path = write_variant(tmp_path, 'jlt_lead = "cnwl"', 'jlt_lead = "mk_hospital"')
    message = load_error(path)
    assert "priority 'cyp_mental_health' has jlt_lead 'mk_hospital'" in message
    assert "not a partner id" in message


def test_load_deal_bad_ods_code_names_field_and_code(tmp_path):
    path = write_variant(tmp_path, 'ods_code = "RD8"', 'ods_code = "RD8!"')
    message = load_error(path)
    assert "partners['mkuh'].ods_code" in message
    assert "'RD8!' is not a valid ODS code" in message


def test_load_deal_long_ods_code_for_trust_refused(tmp_path):
    path = write_variant(tmp_path, 'ods_code = "RV3"', 'ods_code = "RV3AB"')
    message = load_error(path)
    assert "partners['cnwl']" in message
    assert "three characters" in message


def test_load_deal_bad_ons_code_names_the_code(tmp_path):
    path = write_variant(tmp_path, 'ons_code = "E06000042"', 'ons_code = "E0600042"')
    assert "'E0600042' is not a valid ONS code" in load_error(path)


def test_load_deal_duplicate_measure_id_across_priorities_refused(tmp_path):
    path = write_variant(tmp_path, "measure_ids = []", 'measure_ids = ["ucr_two_hour"]', count=2)
    assert "measure id 'ucr_two_hour' is used more than once" in load_error(path)


def test_load_deal_impossible_unquoted_date_refused(tmp_path):
    path = write_variant(tmp_path, "go_live = 2023-04-01", "go_live = 2023-02-30")
    message = load_error(path)
    assert "not valid TOML" in message
    assert "Invalid date" in message


def test_load_deal_impossible_quoted_date_names_the_field(tmp_path):
    path = write_variant(tmp_path, "go_live = 2023-04-01", 'go_live = "2023-02-30"')
    message = load_error(path)
    assert "priorities['system_flow'].go_live" in message
    assert "'2023-02-30' is not a valid date" in message


def test_load_deal_number_as_date_refused(tmp_path):
    path = write_variant(tmp_path, "go_live = 2023-04-01", "go_live = 20230401")
    assert "give a date as YYYY-MM-DD" in load_error(path)


def test_load_deal_unknown_field_names_field_and_allowed(tmp_path):
    path = write_variant(tmp_path, 'jlt_lead = "mkuh"', 'jlt_lead = "mkuh"\nlead_name = "x"')
    message = load_error(path)
    assert "priorities['system_flow'].lead_name is not a known field" in message
    assert "jlt_lead" in message  # the allowed fields are listed


def test_load_deal_unknown_kind_lists_kinds(tmp_path):
    path = write_variant(tmp_path, 'kind = "police"', 'kind = "constabulary"')
    message = load_error(path)
    assert "'constabulary' is not one of" in message
    assert "fire_and_rescue" in message


def test_load_deal_unconfirmed_without_note_refused(tmp_path):
    path = write_variant(tmp_path, "confirmation_note = ", "# confirmation_note = ")
    assert "confirmation_note is empty" in load_error(path)


def test_load_deal_version_without_change_entry_refused(tmp_path):
    path = write_variant(tmp_path, 'version = "1.2"\nnotes', 'version = "1.3"\nnotes')
    assert "version 1.3 has no entry in the changes list" in load_error(path)


def test_load_deal_missing_file_names_the_file(tmp_path):
    path = tmp_path / "absent.toml"
    message = load_error(path)
    assert str(path) in message
    assert "cannot be read" in message


def test_load_deal_several_problems_all_reported(tmp_path):
    path = write_variant(tmp_path, 'ods_code = "QHG"', 'ods_code = "qhg"')
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("go_live = 2023-04-01", 'go_live = "April 2023"', 1))
    message = load_error(path)
    assert "has 2 problems" in message
    assert "'qhg' is not a valid ODS code" in message
    assert "priorities['system_flow'].go_live: 'April 2023' is not a valid date" in message


def test_load_deal_quoted_boolean_refused(tmp_path):
    path = write_variant(
        tmp_path, "confirmed = false\nconfirmation_note", 'confirmed = "no"\nconfirmation_note'
    )
    assert "priorities['system_flow'].confirmed: 'no' is not a boolean" in load_error(path)


def test_load_deal_date_with_time_refused(tmp_path):
    path = write_variant(tmp_path, "date = 2026-11-23", "date = 2026-11-23T10:00:00")
    message = load_error(path)
    assert "release.changes[1].date: give a date (YYYY-MM-DD) without a time" in message
    assert "too short" not in message.lower() and "at least 1 item" not in message


# Faces


def test_deal_as_dict_json_round_trip_equal(deal):
    text = json.dumps(deal_as_dict(deal))
    assert Deal.model_validate(json.loads(text)) == deal


def test_deal_as_dict_dates_iso_and_absent_codes_null(deal):
    data = deal_as_dict(deal)
    assert data["priorities"][0]["go_live"] == "2023-04-01"
    assert data["release"]["agreed_on"] is None
    assert data["partners"][0]["ons_code"] is None
    assert dt.date.fromisoformat(data["release"]["changes"][0]["date"])


def test_render_deal_text_mentions_every_partner_and_code(deal):
    text = render_deal_text(deal)
    for partner in deal.partners:
        assert partner.name in text
    for code in ("RD8", "RV3", "QHG", "E06000042"):
        assert code in text


def test_render_deal_text_shows_priorities_and_unconfirmed_marks(deal):
    text = render_deal_text(deal)
    assert "version 1.2" in text
    for priority in deal.priorities:
        assert priority.name in text
        assert priority.steering_group in text
    assert text.count("[to be confirmed]") == 3 * len(deal.priorities)
    assert "criteria to reside" in " ".join(text.split())


def test_render_deal_text_confirmed_priority_unmarked(deal):
    first = deal.priorities[0].model_copy(update={"confirmed": True})
    confirmed = deal.model_copy(update={"priorities": (first, *deal.priorities[1:])})
    text = render_deal_text(confirmed)
    assert text.count("[to be confirmed]") == 3 * (len(deal.priorities) - 1)
