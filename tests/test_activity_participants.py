"""Participants in the stores: enrolment, screens and sign-offs, consent, pauses and
withdrawals, each with its audit event; identities only in the identifiable store."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from mkdeal.activity import participants
from mkdeal.activity.participants import Identity, Refused
from mkdeal.activity.programme import SCREEN_CODES, Eligibility, Limits
from mkdeal.activity.readiness import HOLD, MAY_RISE, NOT_READY
from mkdeal.appdb.models import AuditEvent
from mkdeal.db import IDENTIFIABLE_STORE, open_app_database, open_store, upgrade
from mkdeal.people import Pseudonymiser

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
TODAY = date(2026, 3, 2)
PERSON = Identity("999 000 0018", "Ada", "Example", date(1958, 6, 1), "ada@example.com", "")


@pytest.fixture
def stores(settings):
    upgrade(settings)
    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    participants.load_practices(app, [("Z90001", "Synthetic practice 1")], NOW)
    yield app, identifiable, Pseudonymiser(settings.pseudonymisation_key)
    app.dispose()
    identifiable.dispose()


def _eligible(**changes) -> Eligibility:
    values = dict(
        date_of_birth=PERSON.date_of_birth,
        type_2_diabetes=True,
        practice_code="Z90001",
        device_route="garmin",
        can_use_device=True,
    )
    return Eligibility(**{**values, **changes})


def _enrol(stores, person: Identity = PERSON, **changes) -> str:
    app, identifiable, pseudonymiser = stores
    return participants.enrol(
        app, identifiable, pseudonymiser, person, _eligible(**changes),
        actor="sam", now=NOW, today=TODAY,
    )  # fmt: skip


def _answers(**yes) -> dict[str, bool]:
    return {code: yes.get(code, False) for code in SCREEN_CODES}


def _consent(app, reference, version="2.0", programme=True, at=NOW, today=TODAY):
    from mkdeal.activity import consent

    answers = {item: True for item in consent.document(version).item_ids}
    answers["programme"] = programme
    participants.record_consent(app, reference, version, answers, actor="sam", now=at, today=today)


def _actions(app, reference) -> list[str]:
    return [event.action for event in reversed(participants.history(app, reference))]


def _all_text(engine) -> str:
    """Every value of every table of a store, as text."""
    found = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                found.extend(str(value) for value in row)
    return "\n".join(found)


def test_enrolment_keeps_the_identity_apart_and_audits_without_it(stores):
    app, identifiable, pseudonymiser = stores
    reference = _enrol(stores)
    assert reference == "AMK-00001"
    found = participants.record(app, reference)
    assert found.person_id == pseudonymiser.person_id("9990000018")
    assert found.eligibility == {
        "adult": True,
        "type_2_diabetes": True,
        "practice_code": "Z90001",
        "device_route": "garmin",
        "can_use_device": True,
    }
    assert (found.enrolled_by, found.enrolled_at) == ("sam", NOW)
    # The NHS number, name, birth date and email are in the identifiable store only.
    app_text = _all_text(app)
    for secret in ("9990000018", "Ada", "Example", "1958-06-01", "ada@example.com"):
        assert secret not in app_text, secret
    assert "9990000018" in _all_text(identifiable)
    assert _actions(app, reference) == ["programme.enrol"]
    # Reading the identity is audited first.
    who = participants.identity(identifiable, app, found.person_id, reference, actor="sam", now=NOW)
    assert (who.nhs_number, who.given_name) == ("9990000018", "Ada")
    assert _actions(app, reference) == ["programme.enrol", "programme.view_identity"]


@pytest.mark.parametrize(
    ("person", "changes", "problem"),
    [
        (
            Identity("9990000018", "Ada", "Example", date(2010, 1, 1), "a@example.com"),
            {},
            "The programme is for adults: the person is under 18.",
        ),
        (
            Identity("9990000019", "Ada", "Example", date(1958, 6, 1), "a@example.com"),
            {},
            "The NHS number",
        ),
        (PERSON, {"type_2_diabetes": False}, "type 2 diabetes"),
        (PERSON, {"practice_code": "K81001"}, "is not a Milton Keynes GP practice"),
        (PERSON, {"device_route": "fitbit"}, "The device route 'fitbit' is not one of"),
        (Identity("9990000018", "Ada", "", date(1958, 6, 1)), {}, "family name"),
    ],
)
def test_ineligible_or_incomplete_enrolment_is_refused_and_stores_nothing(
    stores, person, changes, problem
):
    app, identifiable, _ = stores
    with pytest.raises(Refused) as refused:
        _enrol(stores, person, **changes)
    assert any(problem in p for p in refused.value.problems), refused.value.problems
    assert participants.records(app) == []
    with Session(identifiable) as session:
        assert session.execute(text("SELECT count(*) FROM programme_identities")).scalar() == 0


def test_enrolling_the_same_person_twice_is_refused(stores):
    _enrol(stores)
    with pytest.raises(Refused, match="already enrolled, as AMK-00001"):
        _enrol(stores, Identity("9990000018", "A", "E", date(1958, 6, 1), "", "07700900123"))


def test_screen_sign_off_consent_and_readiness(stores):
    app, _, _ = stores
    reference = _enrol(stores)
    assert participants.record(app, reference).decision(TODAY).answer == NOT_READY
    screen = participants.record_screen(
        app, reference, _answers(insulin_or_sulfonylurea=True), actor="sam", now=NOW
    )
    _consent(app, reference)
    decision = participants.record(app, reference).decision(TODAY)
    assert decision.reasons == ("The screen found a risk: a clinician's sign-off is pending.",)
    with pytest.raises(Refused, match="Give at least one limit"):
        participants.sign_off(
            app, reference, screen, "cleared_with_limits", Limits(), actor="dr", now=NOW
        )
    limits = Limits(max_weekly_active_minutes=100, note="hypo risk: carry glucose")
    participants.sign_off(
        app, reference, screen, "cleared_with_limits", limits, actor="dr", now=NOW
    )
    decision = participants.record(app, reference).decision(TODAY)
    assert (decision.answer, decision.limits) == (MAY_RISE, limits)
    assert _actions(app, reference) == [
        "programme.enrol",
        "programme.screen",
        "programme.consent",
        "programme.sign_off",
    ]
    # A newer positive screen: the old sign-off no longer covers it, nor can it be signed.
    later = participants.record_screen(
        app, reference, _answers(unstable_cardiac_symptoms=True), actor="sam", now=NOW
    )
    assert participants.record(app, reference).decision(TODAY).answer == NOT_READY
    with pytest.raises(Refused, match="A newer screen"):
        participants.sign_off(app, reference, screen, "cleared", Limits(), actor="dr", now=NOW)
    participants.sign_off(app, reference, later, "not_cleared", Limits(), actor="dr", now=NOW)
    decision = participants.record(app, reference).decision(TODAY)
    assert decision.reasons == ("A clinician did not clear the plan after the screen.",)


def test_a_negative_screen_needs_no_sign_off(stores):
    app, _, _ = stores
    reference = _enrol(stores)
    screen = participants.record_screen(app, reference, _answers(), actor="sam", now=NOW)
    with pytest.raises(Refused, match="needs no sign-off"):
        participants.sign_off(app, reference, screen, "cleared", Limits(), actor="dr", now=NOW)
    with pytest.raises(Refused, match="Answer yes or no"):
        participants.record_screen(
            app, reference, {"insulin_or_sulfonylurea": True}, actor="sam", now=NOW
        )


def test_consent_is_recorded_only_on_the_version_in_force_and_again_after_a_change(stores):
    app, _, _ = stores
    reference = _enrol(stores)
    participants.record_screen(app, reference, _answers(), actor="sam", now=NOW)
    autumn, day = datetime(2025, 10, 1, 9, tzinfo=UTC), date(2025, 10, 1)
    _consent(app, reference, "1.0", at=autumn, today=day)
    with pytest.raises(Refused, match=r"version in force \(2.0\), not 1.0"):
        _consent(app, reference, "1.0")
    decision = participants.record(app, reference).decision(TODAY)
    assert decision.answer == HOLD
    assert decision.reasons == ("Must consent again: agreed to version 1.0, now replaced.",)
    _consent(app, reference, "2.0")
    assert participants.record(app, reference).decision(TODAY).answer == MAY_RISE
    # Every choice is kept with its version and time: 4 items of 1.0, 5 of 2.0.
    choices = participants.record(app, reference).state.choices
    assert [(c.version, c.recorded_at) for c in choices].count(("1.0", autumn)) == 4
    assert len(choices) == 9


def test_pauses_hold_and_only_a_clinician_ends_one_after_a_hypoglycaemia(stores):
    app, _, _ = stores
    reference = _enrol(stores)
    participants.record_screen(app, reference, _answers(), actor="sam", now=NOW)
    _consent(app, reference)
    holiday = participants.start_pause(
        app, reference, "holiday", TODAY, TODAY + timedelta(days=6), "Spain", actor="sam", now=NOW
    )
    assert participants.record(app, reference).decision(TODAY).answer == HOLD
    assert (
        participants.record(app, reference).decision(TODAY + timedelta(days=7)).answer == MAY_RISE
    )
    hypo = participants.start_pause(
        app, reference, "hypo_or_injury", TODAY + timedelta(days=7), None, "", actor="sam", now=NOW
    )
    with pytest.raises(Refused, match="Only a clinician"):
        participants.end_pause(
            app, reference, hypo, TODAY + timedelta(days=9), actor="sam", clinician=False, now=NOW
        )
    assert participants.record(app, reference).decision(TODAY + timedelta(days=30)).answer == HOLD
    participants.end_pause(
        app, reference, hypo, TODAY + timedelta(days=9), actor="dr", clinician=True, now=NOW
    )
    record = participants.record(app, reference)
    assert record.decision(TODAY + timedelta(days=10)).answer == MAY_RISE
    assert [p.ended_by for p in record.pauses] == [None, "dr"]
    participants.end_pause(
        app, reference, holiday, TODAY + timedelta(days=2), actor="sam", clinician=False, now=NOW
    )
    assert (
        participants.record(app, reference).decision(TODAY + timedelta(days=3)).answer == MAY_RISE
    )


def test_withdrawal_levels_add_up_never_go_back_and_stop_further_changes(stores):
    app, _, _ = stores
    reference = _enrol(stores)
    assert participants.withdraw(
        app, reference, "data_collection", "moving away", actor="sam", now=NOW
    )
    record = participants.record(app, reference)
    assert [w.level for w in record.withdrawals] == ["programme", "data_collection"]
    assert not participants.withdraw(app, reference, "programme", "", actor="sam", now=NOW)
    assert participants.withdraw(app, reference, "data", "asked", actor="sam", now=NOW)
    record = participants.record(app, reference)
    assert [w.level for w in record.withdrawals] == ["programme", "data_collection", "data"]
    assert record.decision(TODAY).answer == NOT_READY
    with pytest.raises(Refused, match="has withdrawn"):
        participants.record_screen(app, reference, _answers(), actor="sam", now=NOW)
    with pytest.raises(Refused, match="has withdrawn, so a sign-off cannot be recorded"):
        participants.sign_off(app, reference, 1, "cleared", Limits(), actor="dr", now=NOW)
    with Session(app) as session:
        details = [
            json.loads(e.detail)["level"]
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "programme.withdraw")
            )
        ]
    assert details == ["data_collection", "data"]


def test_device_route_changes_are_audited(stores):
    app, _, _ = stores
    reference = _enrol(stores)
    participants.change_device(app, reference, "loaned_device", actor="sam", now=NOW)
    participants.change_device(app, reference, "loaned_device", actor="sam", now=NOW)  # no change
    assert participants.record(app, reference).device_route == "loaned_device"
    assert _actions(app, reference) == ["programme.enrol", "programme.device_route"]
    with pytest.raises(Refused, match="Choose a device route"):
        participants.change_device(app, reference, "fitbit", actor="sam", now=NOW)


def test_practice_list_reload_keeps_practices_in_use(stores):
    app, _, _ = stores
    _enrol(stores)
    added, removed = participants.load_practices(app, [("z90002", "Synthetic practice 2")], NOW)
    assert (added, removed) == (1, 0)  # Z90001 has a participant, so it stays
    assert participants.practices(app) == {
        "Z90001": "Synthetic practice 1",
        "Z90002": "Synthetic practice 2",
    }
