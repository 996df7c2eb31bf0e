"""Readiness, consent versions and withdrawal levels: the pure rules of Active MK I.

`readiness` is checked against every combination of screen, sign-off, consent, pause and
withdrawal (960 states), each against the rule as the issue states it, written here
independently of the code's order of checks.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from mkdeal.activity import consent
from mkdeal.activity.consent import Choice, consent_state
from mkdeal.activity.programme import (
    DEVICE_ROUTES,
    SCREEN_CODES,
    WITHDRAWAL_LEVELS,
    Eligibility,
    Limits,
    age_on,
    eligibility_problems,
    screen_problems,
)
from mkdeal.activity.readiness import (
    HOLD,
    MAY_RISE,
    NOT_READY,
    ParticipantState,
    Pause,
    Screen,
    SignOff,
    Withdrawal,
    accepts_data,
    readiness,
)

ON = date(2026, 3, 9)  # a Monday, with consent version 2.0 in force (from 1 February 2026)
BEFORE = datetime(2026, 2, 20, 10, tzinfo=UTC)
WITHDRAWN = datetime(2026, 3, 1, 12, tzinfo=UTC)
LIMITS = Limits(max_weekly_active_minutes=90, no_vigorous=True, note="retinopathy")


def _answers(positive: bool) -> dict[str, bool]:
    return {code: positive and code == "proliferative_retinopathy" for code in SCREEN_CODES}


def _choices(kind: str) -> tuple[Choice, ...]:
    if kind == "none":
        return ()
    version = "1.0" if kind == "outdated" else "2.0"
    items = consent.document(version).item_ids
    at = datetime(2025, 10, 1, tzinfo=UTC) if kind == "outdated" else BEFORE
    return tuple(
        Choice(version, item, not (kind == "declined" and item == "programme"), at)
        for item in items
    )


SCREENS = ("none", "negative", "positive")
SIGN_OFFS = ("none", "cleared", "cleared_with_limits", "not_cleared")
CONSENTS = ("none", "declined", "current", "outdated")
PAUSES = ("none", "holiday", "unwell", "hypo_or_injury", "ended")
WITHDRAWALS = ("none", *WITHDRAWAL_LEVELS)


def _state(screen, sign_off, consent_kind, pause, withdrawal) -> ParticipantState:
    screens = () if screen == "none" else (Screen(1, BEFORE, _answers(screen == "positive")),)
    sign_offs = ()
    if screen != "none" and sign_off != "none":
        limits = LIMITS if sign_off == "cleared_with_limits" else Limits()
        sign_offs = (SignOff(1, sign_off, BEFORE + timedelta(days=1), limits),)
    pauses = ()
    if pause == "ended":
        pauses = (Pause("unwell", date(2026, 2, 1), date(2026, 2, 14), BEFORE),)
    elif pause != "none":
        pauses = (Pause(pause, date(2026, 3, 2), None, BEFORE),)
    withdrawals = () if withdrawal == "none" else (Withdrawal(withdrawal, WITHDRAWN),)
    return ParticipantState(screens, sign_offs, _choices(consent_kind), pauses, withdrawals)


def _expected(screen, sign_off, consent_kind, pause, withdrawal) -> tuple[str, Limits]:
    """The issue's rule: not_ready when screening is incomplete, sign-off is pending (or
    refused), consent to take part is missing, or the participant withdrew; hold when
    paused or re-consent is due; may_rise otherwise."""
    signed = sign_off in ("cleared", "cleared_with_limits")
    limits = LIMITS if screen == "positive" and sign_off == "cleared_with_limits" else Limits()
    if (
        withdrawal != "none"
        or screen == "none"
        or (screen == "positive" and not signed)
        or consent_kind in ("none", "declined")
    ):
        return NOT_READY, limits
    if pause in ("holiday", "unwell", "hypo_or_injury") or consent_kind == "outdated":
        return HOLD, limits
    return MAY_RISE, limits


def test_readiness_for_every_combination_of_states():
    seen = {NOT_READY: 0, HOLD: 0, MAY_RISE: 0}
    for combination in itertools.product(SCREENS, SIGN_OFFS, CONSENTS, PAUSES, WITHDRAWALS):
        decision = readiness(_state(*combination), ON)
        answer, limits = _expected(*combination)
        assert (decision.answer, decision.limits) == (answer, limits), combination
        assert (decision.answer == MAY_RISE) == (decision.reasons == ()), combination
        seen[decision.answer] += 1
    assert sum(seen.values()) == 960
    assert seen == {NOT_READY: 900, HOLD: 48, MAY_RISE: 12}


def test_every_reason_is_given_not_only_the_first():
    decision = readiness(_state("positive", "none", "none", "none", "programme"), ON)
    assert decision.reasons == (
        "Withdrew (stop the programme) on 1 March 2026.",
        "The screen found a risk: a clinician's sign-off is pending.",
        "No consent to take part is recorded.",
    )
    hold = readiness(_state("negative", "none", "outdated", "hypo_or_injury", "none"), ON)
    assert hold.reasons == (
        "Paused: reported a hypoglycaemia or an injury.",
        "Must consent again: agreed to version 1.0, now replaced.",
    )


def test_only_what_was_recorded_by_the_day_counts():
    """A past week's answer derives again exactly: later records are not seen."""
    state = _state("positive", "cleared", "current", "none", "none")
    assert readiness(state, ON).answer == MAY_RISE
    # On 20 February the screen was in, the sign-off (21st) not yet: not ready then.
    assert readiness(state, date(2026, 2, 20)).answer == NOT_READY
    assert readiness(state, date(2026, 2, 21)).answer == MAY_RISE
    # A withdrawal at 23:30 UTC on 28 June is 00:30 on 29 June in London (BST).
    late = datetime(2026, 6, 28, 23, 30, tzinfo=UTC)
    gone = ParticipantState(**{**state.__dict__, "withdrawals": (Withdrawal("programme", late),)})
    assert readiness(gone, date(2026, 6, 28)).answer == MAY_RISE
    assert readiness(gone, date(2026, 6, 29)).answer == NOT_READY


def test_a_pause_holds_only_within_its_days():
    pause = Pause("holiday", date(2026, 3, 2), date(2026, 3, 8), BEFORE)
    state = ParticipantState(**{**_state("negative", "none", "current", "none", "none").__dict__})
    state = ParticipantState(**{**state.__dict__, "pauses": (pause,)})
    assert readiness(state, date(2026, 3, 1)).answer == MAY_RISE
    assert readiness(state, date(2026, 3, 2)).answer == HOLD
    assert readiness(state, date(2026, 3, 8)).answer == HOLD
    assert readiness(state, date(2026, 3, 9)).answer == MAY_RISE


def test_a_new_positive_screen_needs_its_own_sign_off():
    state = _state("positive", "cleared", "current", "none", "none")
    later = Screen(2, datetime(2026, 3, 3, tzinfo=UTC), _answers(True))
    state = ParticipantState(**{**state.__dict__, "screens": (*state.screens, later)})
    decision = readiness(state, ON)
    assert decision.answer == NOT_READY
    assert decision.reasons == ("The screen found a risk: a clinician's sign-off is pending.",)
    # A later negative screen needs none.
    negative = Screen(3, datetime(2026, 3, 4, tzinfo=UTC), _answers(False))
    state = ParticipantState(**{**state.__dict__, "screens": (*state.screens, negative)})
    assert readiness(state, ON).answer == MAY_RISE


@pytest.mark.parametrize(
    ("level", "accepted"), [("programme", True), ("data_collection", False), ("data", False)]
)
def test_each_withdrawal_level_and_its_effect(level, accepted):
    """Every level stops goals; data collection and data withdrawal also stop new data."""
    state = _state("negative", "none", "current", "none", level)
    assert readiness(state, ON).answer == NOT_READY
    assert readiness(state, date(2026, 2, 28)).answer == MAY_RISE  # the day before
    assert accepts_data(state, WITHDRAWN - timedelta(seconds=1)) == (True, "")
    ok, why = accepts_data(state, WITHDRAWN)
    assert ok is accepted
    assert why == ("" if accepted else "The participant has stopped data collection.")


def test_a_consent_version_change_means_consenting_again():
    first = _choices("outdated")  # agreed under 1.0 on 1 October 2025
    assert consent_state(first, date(2026, 1, 31)).status == "current"
    changed = consent_state(first, date(2026, 2, 1))  # 2.0 in force
    assert changed.status == "outdated" and changed.needs_reconsent
    assert changed.version == "1.0"
    assert "scope_heart_rate" not in changed.agreed
    assert accepts_data(ParticipantState(choices=first), datetime(2026, 2, 2, tzinfo=UTC)) == (
        False,
        "The participant must consent again to the new consent version.",
    )
    again = (
        *first,
        *(
            Choice("2.0", i, i != "scope_heart_rate", datetime(2026, 2, 3, tzinfo=UTC))
            for i in consent.document("2.0").item_ids
        ),
    )
    state = consent_state(again, date(2026, 2, 3))
    assert (state.status, state.version) == ("current", "2.0")
    assert "scope_heart_rate" not in state.agreed and "scope_steps" in state.agreed


def test_declining_a_required_item_and_a_later_change_of_mind():
    declined = _choices("declined")
    assert consent_state(declined, ON).status == "declined"
    yes = Choice("2.0", "programme", True, BEFORE + timedelta(days=2))
    assert consent_state((*declined, yes), ON).status == "current"


def test_consent_documents_are_versioned_and_in_force_by_date():
    versions = [(d.version, d.in_force_from) for d in consent.documents()]
    assert versions == [("1.0", date(2025, 9, 1)), ("2.0", date(2026, 2, 1))]
    assert consent.in_force(date(2025, 8, 31)) is None
    assert consent.in_force(date(2026, 1, 31)).version == "1.0"
    assert consent.in_force(ON).version == "2.0"
    for document in consent.documents():
        assert [i.id for i in document.items if i.required] == ["programme"]
        assert all(i.question.endswith("?") and i.explanation for i in document.items)
    assert consent.choices_problems(consent.document("1.0"), {"programme": True}) == [
        f"Answer yes or no: {i.question}" for i in consent.document("1.0").items[1:]
    ]


def _eligible(**changes) -> Eligibility:
    values = dict(
        date_of_birth=date(1960, 5, 1),
        type_2_diabetes=True,
        practice_code="Z90001",
        device_route="loaned_device",
        can_use_device=True,
    )
    return Eligibility(**{**values, **changes})


PRACTICES = {"Z90001": "Synthetic practice 1"}


def test_eligibility_needs_an_adult_with_type_2_diabetes_at_an_mk_practice_with_a_device():
    assert eligibility_problems(_eligible(), ON, PRACTICES) == []
    # 18 on the day of enrolment is an adult; the day before is not.
    assert eligibility_problems(_eligible(date_of_birth=date(2008, 3, 9)), ON, PRACTICES) == []
    assert eligibility_problems(_eligible(date_of_birth=date(2008, 3, 10)), ON, PRACTICES) == [
        "The programme is for adults: the person is under 18."
    ]
    problems = eligibility_problems(
        _eligible(type_2_diabetes=False, practice_code="K99999", can_use_device=False),
        ON,
        PRACTICES,
    )
    assert problems == [
        "The programme is for people with a diagnosis of type 2 diabetes.",
        "The practice 'K99999' is not a Milton Keynes GP practice on the programme's list.",
        "The person needs a device route they can use; a loaned device needs no phone of "
        "their own.",
    ]
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_device_routes_include_ones_without_an_iphone():
    without_iphone = [r for r in DEVICE_ROUTES.values() if "iPhone" not in r.needs]
    assert {r.code for r in without_iphone} == {"android_health_connect", "garmin", "loaned_device"}


def test_a_screen_needs_every_answer():
    assert screen_problems(_answers(False)) == []
    partial = {"insulin_or_sulfonylurea": False}
    assert len(screen_problems(partial)) == 3
    assert screen_problems({**_answers(False), "smoker": True}) == [
        "'smoker' is not a screening question."
    ]
