"""Tests of the dataset contracts and the code lists they name.

Most tests are generated from the contracts themselves (parametrised over DATASETS), so a
new dataset is checked as soon as it is added. Row checks are compiled for DuckDB and
PostgreSQL and, for the ones with rules worth spelling out, evaluated on DuckDB.
"""

from __future__ import annotations

import csv
import datetime
import re
from importlib import resources

import ibis
import pytest

from mkdeal.datasets import DATASETS, get_dataset
from mkdeal.datasets.codes import STATUS_PREFIXES, all_code_lists, code_list
from mkdeal.datasets.contract import Dataset
from mkdeal.datasets.staging import stage
from mkdeal.errors import UserError
from mkdeal.people import Pseudonymiser

DATASET_PARAMS = [pytest.param(dataset, id=name) for name, dataset in DATASETS.items()]
REFERENCE_DATASETS = {"residents", "area_deprivation"}


def _sentence(text: str) -> bool:
    return bool(text) and text[0].isupper() and text.endswith(".") and text == text.strip()


# --- datasets -------------------------------------------------------------------------


def test_datasets_are_the_eleven_in_order():
    assert list(DATASETS) == [
        "residents",
        "area_deprivation",
        "acute_spells",
        "discharge_readiness",
        "ambulance_arrivals",
        "rtt_pathways",
        "ucr_referrals",
        "reablement_follow_up",
        "asc_events",
        "child_measurements",
        "adult_bmi",
    ]


def test_get_dataset_known_name_returns_its_contract():
    assert get_dataset("acute_spells") is DATASETS["acute_spells"]


def test_get_dataset_unknown_name_raises_user_error_listing_datasets():
    with pytest.raises(UserError) as raised:
        get_dataset("spells")

    message = str(raised.value)
    assert message.startswith("There is no dataset 'spells'; the datasets are residents, ")
    assert message.endswith("adult_bmi.")


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_name_is_its_key_and_snake_case(dataset: Dataset):
    assert DATASETS[dataset.name] is dataset
    assert re.fullmatch(r"[a-z][a-z0-9_]*", dataset.name)


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_coded_columns_name_existing_code_lists(dataset: Dataset):
    lists = all_code_lists()
    for column in dataset.columns:
        if column.codes is not None:
            assert column.codes in lists, f"{dataset.name}.{column.name}: {column.codes}"


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_natural_key_columns_are_required(dataset: Dataset):
    assert dataset.natural_key
    for name in dataset.natural_key:
        assert dataset.column(name).required, f"{dataset.name}.{name}"


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_person_level_has_nhs_number_column(dataset: Dataset):
    nhs_columns = [c for c in dataset.columns if c.type == "nhs_number"]
    if dataset.person_level:
        assert [c.name for c in nhs_columns] == ["nhs_number"]
    else:
        assert nhs_columns == []


def test_dataset_only_area_deprivation_is_not_person_level():
    assert [d.name for d in DATASETS.values() if not d.person_level] == ["area_deprivation"]


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_period_column_is_required_date_or_timestamp(dataset: Dataset):
    if dataset.name in REFERENCE_DATASETS:
        assert dataset.period_column is None
        return
    assert dataset.period_column is not None
    period = dataset.column(dataset.period_column)
    assert period.type in ("date", "timestamp")
    # A row without a period could be placed in no slice.
    assert period.required


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_columns_have_meaning_sentences(dataset: Dataset):
    for column in dataset.columns:
        assert _sentence(column.meaning), f"{dataset.name}.{column.name}: {column.meaning!r}"
        if column.caveat is not None:
            assert _sentence(column.caveat), f"{dataset.name}.{column.name} caveat"


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_description_caveats_and_reasons_are_sentences(dataset: Dataset):
    assert _sentence(dataset.title + ".")
    assert _sentence(dataset.description)
    for caveat in dataset.caveats:
        assert _sentence(caveat), caveat
    for check in dataset.row_checks:
        assert _sentence(check.reason), check.reason


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_mirrors_a_national_source_with_https_link(dataset: Dataset):
    assert dataset.mirrors
    for source in dataset.mirrors:
        assert source.name
        assert source.url.startswith("https://"), source.url
        assert " " not in source.url


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_patterns_compile_and_avoid_shorthand_classes(dataset: Dataset):
    for column in dataset.columns:
        if column.pattern is not None:
            re.compile(column.pattern)
            # \d also matches non-ASCII digits in Python; the engines differ on it.
            assert "\\d" not in column.pattern, f"{dataset.name}.{column.name}"


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_ranges_are_on_numeric_columns_and_ordered(dataset: Dataset):
    for column in dataset.columns:
        if column.minimum is None and column.maximum is None:
            continue
        assert column.type in ("integer", "decimal"), f"{dataset.name}.{column.name}"
        assert column.minimum is not None and column.maximum is not None
        assert column.minimum < column.maximum


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_dataset_row_checks_compile_on_the_warehouse_schema(dataset: Dataset, dialect: str):
    table = ibis.table(ibis.schema(dataset.warehouse_columns()), name=dataset.name)
    for check in dataset.row_checks:
        assert check.field in dataset.column_names
        expression = check.holds(table)
        assert expression.type().is_boolean()
        assert ibis.to_sql(table.filter(expression), dialect=dialect)


@pytest.mark.parametrize(
    ("pattern_column", "good", "bad"),
    [
        ("lsoa_2021", "E01016723", "W01000001"),
        ("gp_practice_code", "K82001", "K8200"),
        ("pcn_code", "U12345", "12345"),
    ],
)
def test_residents_patterns_accept_codes_and_refuse_others(pattern_column, good, bad):
    column = DATASETS["residents"].column(pattern_column)

    assert re.fullmatch(column.pattern, good)
    assert not re.fullmatch(column.pattern, bad)


# --- row checks, evaluated ------------------------------------------------------------


def _failing_rows(dataset: Dataset, field: str, rows: dict[str, list]) -> list[int]:
    """Indexes of the rows where the check on `field` fails, asked as the contract says."""
    (check,) = [c for c in dataset.row_checks if c.field == field]
    table = ibis.memtable({"_row": list(range(len(next(iter(rows.values()))))), **rows})
    present = ibis.literal(True)
    for name in check.uses:
        present &= table[name].notnull()
    failing = table.filter(present & ~check.holds(table)).select("_row")
    result = ibis.duckdb.connect().execute(failing)
    return sorted(result["_row"].tolist())


def _checks_on(dataset: Dataset, field: str, reason_start: str) -> Dataset:
    """The dataset with only the row check on `field` whose reason starts so."""
    checks = tuple(
        c for c in dataset.row_checks if c.field == field and c.reason.startswith(reason_start)
    )
    assert len(checks) == 1
    return Dataset(
        name=dataset.name,
        title=dataset.title,
        description=dataset.description,
        columns=dataset.columns,
        natural_key=dataset.natural_key,
        period_column=dataset.period_column,
        mirrors=dataset.mirrors,
        row_checks=checks,
        person_level=dataset.person_level,
    )


def test_discharge_readiness_delay_reason_must_be_in_effect_on_snapshot_date():
    dataset = _checks_on(DATASETS["discharge_readiness"], "delay_reason", "The delay reason")
    day = datetime.date

    failing = _failing_rows(
        dataset,
        "delay_reason",
        {
            "delay_reason": ["2022-01", "2022-01", "2024-01", "2024-01", "2022-18", "2022-05"],
            "snapshot_date": [
                day(2023, 1, 1),  # 2022 list in effect
                day(2024, 6, 1),  # 2022 list replaced on 27 May 2024
                day(2024, 6, 1),  # 2024 list in effect
                day(2023, 1, 1),  # 2024 list not yet in effect
                day(2024, 5, 26),  # last day of the 2022 list
                day(2022, 5, 26),  # before the 2022 list
            ],
        },
    )

    assert failing == [1, 3, 5]


def test_discharge_readiness_delay_reason_only_without_criteria_to_reside():
    dataset = _checks_on(DATASETS["discharge_readiness"], "delay_reason", "A delay reason")

    failing = _failing_rows(
        dataset,
        "delay_reason",
        {"delay_reason": ["2024-01", "2024-01"], "meets_criteria_to_reside": [False, True]},
    )

    assert failing == [1]


def test_adult_bmi_needs_bmi_or_both_height_and_weight():
    failing = _failing_rows(
        DATASETS["adult_bmi"],
        "bmi",
        {
            "bmi": [31.2, None, None, None, None],
            "height_cm": [None, 170.0, 170.0, None, None],
            "weight_kg": [None, 80.0, None, 80.0, None],
        },
    )

    assert failing == [2, 3, 4]


def test_reablement_status_other_than_died_waits_for_the_91st_day():
    dataset = _checks_on(DATASETS["reablement_follow_up"], "status_recorded_on", "A 91-day")
    discharged = datetime.date(2025, 10, 1)

    failing = _failing_rows(
        dataset,
        "status_recorded_on",
        {
            "status_91_days": ["at_home", "at_home", "died"],
            "hospital_discharged_on": [discharged] * 3,
            "status_recorded_on": [
                discharged + datetime.timedelta(days=90),
                discharged + datetime.timedelta(days=91),
                discharged + datetime.timedelta(days=20),
            ],
        },
    )

    assert failing == [0]


def test_residents_death_in_birth_month_passes_and_before_it_fails():
    failing = _failing_rows(
        DATASETS["residents"],
        "date_of_death",
        {
            "birth_month": [datetime.date(1940, 3, 1)] * 2,
            "date_of_death": [datetime.date(1940, 3, 20), datetime.date(1940, 2, 28)],
        },
    )

    assert failing == [1]


# --- code lists -----------------------------------------------------------------------

EXPECTED_SIZES = {
    "ethnic_category": 18,
    "ethnic_group_2021": 21,
    "person_stated_gender": 4,
    "admission_method": 20,
    "admission_source": 21,
    "discharge_method": 9,
    "discharge_destination": 26,
    "bed_type": 4,
    "discharge_pathway": 4,
    "sitrep_delay_reason": 25,
    "ucr_clinical_condition": 9,
    "rtt_treatment_function": 25,
    "school_year": 2,
    "ncmp_school_type": 3,
    "reablement_setting": 4,
    "reablement_funding": 2,
    "status_91_days": 7,
    "asc_event_type": 4,
    "asc_service_type": 7,
    "asc_support_setting": 4,
    "conveying_service": 3,
    "bmi_source": 4,
    "imd_version": 3,
    "lsoa_change_indicator": 4,
}


def test_code_lists_load_with_expected_sizes():
    sizes = {name: len(codes.codes) for name, codes in all_code_lists().items()}

    assert sizes == EXPECTED_SIZES


@pytest.mark.parametrize("name", list(EXPECTED_SIZES))
def test_code_list_has_provenance_and_honest_status(name: str):
    codes = code_list(name)

    assert codes.name == name
    assert codes.title and codes.source and codes.version and codes.notes
    assert codes.url.startswith("https://")
    assert codes.status.startswith(STATUS_PREFIXES)
    assert all(label for label in codes.codes.values())


def test_code_list_files_match_the_index():
    folder = resources.files("mkdeal.datasets").joinpath("codelists")
    files = {p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv")}

    assert files == set(all_code_lists())


def test_code_list_codes_are_kept_exactly_as_written():
    assert "2A" in code_list("admission_method").codes
    assert "99" in code_list("ethnic_category").codes
    assert list(code_list("ucr_clinical_condition").codes) == [str(n) for n in range(1, 10)]
    assert list(code_list("discharge_pathway").codes) == ["0", "1", "2", "3"]


def test_ethnic_category_r_maps_to_asian_in_2021_groups():
    ethnic = code_list("ethnic_category")

    assert ethnic.label("R") == "Other Ethnic Groups - Chinese"
    assert ethnic.attribute("R", "census2021_high_level_group") == "Asian or Asian British"


def test_ethnic_group_2021_groups_agree_with_nearest_ethnic_category():
    ethnic = code_list("ethnic_category")
    groups_2021 = code_list("ethnic_group_2021")

    for code in groups_2021.codes:
        nearest = groups_2021.attribute(code, "nearest_ethnic_category")
        assert groups_2021.attribute(code, "census2021_high_level_group") == ethnic.attribute(
            nearest, "census2021_high_level_group"
        ), code


def test_sitrep_delay_reason_codes_carry_their_spec_version_and_start():
    reasons = code_list("sitrep_delay_reason")
    starts = {"2022": "2022-05-27", "2024": "2024-05-27"}

    for code in reasons.codes:
        version = reasons.attribute(code, "spec_version")
        assert code.startswith(f"{version}-")
        assert reasons.attribute(code, "effective_from") == starts[version]
    assert [c for c in reasons.codes if c.startswith("2022-")][-1] == "2022-18"


def test_code_list_unknown_name_raises_key_error_naming_the_lists():
    with pytest.raises(KeyError) as raised:
        code_list("ethnicity")

    message = raised.value.args[0]
    assert message.startswith("There is no code list 'ethnicity'; the code lists are ")
    assert "ethnic_category" in message


def test_code_list_label_of_unknown_code_raises_key_error_with_a_sentence():
    with pytest.raises(KeyError) as raised:
        code_list("ethnic_category").label("Q")

    assert raised.value.args[0] == "Code list 'ethnic_category' has no code 'Q'."


def test_code_list_attribute_of_unknown_column_names_the_columns():
    with pytest.raises(KeyError) as raised:
        code_list("school_year").attribute("R", "age")

    assert raised.value.args[0] == (
        "Code list 'school_year' has no column 'age'; its columns are usual_age."
    )


def test_code_list_is_read_once():
    assert code_list("bed_type") is code_list("bed_type")


def test_code_lists_are_all_used_by_a_column_or_another_list():
    named = {c.codes for d in DATASETS.values() for c in d.columns if c.codes}
    services = code_list("asc_service_type")
    settings = {services.attribute(code, "support_setting") for code in services.codes} - {""}

    assert set(all_code_lists()) - named == set()
    assert settings <= set(code_list("asc_support_setting").codes)


# --- examples -------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_required_columns_have_examples(dataset: Dataset):
    for column in dataset.columns:
        if column.required:
            assert column.example is not None, f"{dataset.name}.{column.name}"


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_dataset_example_row_passes_every_check_when_staged(dataset: Dataset, tmp_path):
    # The examples, written as a partner's CSV would hold them, go through the loader's
    # own checks: codes, patterns, ranges and row checks all pass, so no row is quarantined.
    path = tmp_path / f"{dataset.name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(dataset.column_names)
        writer.writerow([column.example or "" for column in dataset.columns])

    staged = stage(dataset, path, Pseudonymiser(b"k" * 32))

    assert staged.quarantine.to_pylist() == []
    assert staged.loaded == 1
