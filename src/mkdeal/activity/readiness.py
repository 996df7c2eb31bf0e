"""The one question goals ask each week: may this participant's goal rise? Pure.

`readiness(state, on)` answers

- `not_ready`: no goal at all. The participant has withdrawn (at any level), has no
  exercise-safety screen, has a positive screen a clinician has not yet signed off, was
  not cleared by the clinician, or has not consented to take part (or said no);
- `hold`: the goal stays as it is. The participant is paused on that day (on holiday,
  unwell, or after reporting a hypoglycaemia or an injury), or must consent again because
  a new consent version came into force;
- `may_rise`: the plan goes on, within any limits a clinician set.

Every reason that applies is given, not only the first, so staff see everything that
stands in the way. Only what was recorded by the end of `on` (a London date) counts, so a
past week's answer can be derived again exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mkdeal.activity.consent import Choice, ConsentState, consent_state
from mkdeal.activity.programme import (
    PAUSE_REASONS,
    SCREEN_CODES,
    WITHDRAWAL_LEVELS,
    Limits,
    is_positive,
)

LONDON = ZoneInfo("Europe/London")
NOT_READY, HOLD, MAY_RISE = "not_ready", "hold", "may_rise"


@dataclass(frozen=True)
class Screen:
    id: int
    answered_at: datetime
    answers: Mapping[str, bool]


@dataclass(frozen=True)
class SignOff:
    screen_id: int
    decision: str  # programme.SIGN_OFF_DECISIONS
    signed_at: datetime
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Pause:
    reason: str  # programme.PAUSE_REASONS
    starts_on: date
    ends_on: date | None  # the last day paused; None while open
    recorded_at: datetime


@dataclass(frozen=True)
class Withdrawal:
    level: str  # programme.WITHDRAWAL_LEVELS
    at: datetime


@dataclass(frozen=True)
class ParticipantState:
    """Everything recorded about one participant that bears on readiness."""

    screens: tuple[Screen, ...] = ()
    sign_offs: tuple[SignOff, ...] = ()
    choices: tuple[Choice, ...] = ()
    pauses: tuple[Pause, ...] = ()
    withdrawals: tuple[Withdrawal, ...] = ()


@dataclass(frozen=True)
class Decision:
    answer: str  # not_ready, hold or may_rise
    reasons: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)


def _by(moment: datetime, on: date) -> bool:
    """Whether something recorded at `moment` was recorded by the end of the London day."""
    return moment.astimezone(LONDON).date() <= on


def withdrawal_on(withdrawals: Iterable[Withdrawal], on: date) -> Withdrawal | None:
    """The highest level withdrawn by the end of a day (levels only ever add up)."""
    made = [w for w in withdrawals if _by(w.at, on)]
    return max(made, key=lambda w: WITHDRAWAL_LEVELS[w.level].rank, default=None)


def latest_screen(screens: Iterable[Screen], on: date) -> Screen | None:
    made = [s for s in screens if _by(s.answered_at, on)]
    return max(made, key=lambda s: (s.answered_at, s.id), default=None)


def sign_off_of(state: ParticipantState, screen: Screen, on: date) -> SignOff | None:
    """The latest sign-off of that screen by the end of the day."""
    made = [s for s in state.sign_offs if s.screen_id == screen.id and _by(s.signed_at, on)]
    return max(made, key=lambda s: s.signed_at, default=None)


def pauses_on(pauses: Iterable[Pause], on: date) -> list[Pause]:
    return [
        p
        for p in pauses
        if _by(p.recorded_at, on) and p.starts_on <= on and (p.ends_on is None or on <= p.ends_on)
    ]


def consent_on(state: ParticipantState, on: date) -> ConsentState:
    return consent_state([c for c in state.choices if _by(c.recorded_at, on)], on)


def readiness(state: ParticipantState, on: date) -> Decision:
    """not_ready, hold or may_rise on a day, with every reason and any clinician's limits."""
    blocking: list[str] = []
    limits = Limits()
    withdrawn = withdrawal_on(state.withdrawals, on)
    if withdrawn is not None:
        level = WITHDRAWAL_LEVELS[withdrawn.level]
        blocking.append(
            f"Withdrew ({level.name.lower()}) on {withdrawn.at.astimezone(LONDON):%-d %B %Y}."
        )
    screen = latest_screen(state.screens, on)
    if screen is None:
        blocking.append("The exercise-safety screen has not been done.")
    elif set(SCREEN_CODES) - set(screen.answers):
        blocking.append("The exercise-safety screen is incomplete.")
    elif is_positive(screen.answers):
        sign_off = sign_off_of(state, screen, on)
        if sign_off is None:
            blocking.append("The screen found a risk: a clinician's sign-off is pending.")
        elif sign_off.decision == "not_cleared":
            blocking.append("A clinician did not clear the plan after the screen.")
        elif sign_off.decision == "cleared_with_limits":
            limits = sign_off.limits
    consent = consent_on(state, on)
    if consent.status == "none":
        blocking.append("No consent to take part is recorded.")
    elif consent.status == "declined":
        blocking.append("The participant did not agree to take part.")
    if blocking:
        return Decision(NOT_READY, tuple(blocking), limits)
    holding = [f"Paused: {PAUSE_REASONS[p.reason].lower()}." for p in pauses_on(state.pauses, on)]
    if consent.needs_reconsent:
        holding.append(f"Must consent again: agreed to version {consent.version}, now replaced.")
    if holding:
        return Decision(HOLD, tuple(holding), limits)
    return Decision(MAY_RISE, (), limits)


def accepts_data(state: ParticipantState, at: datetime) -> tuple[bool, str]:
    """Whether the app may accept new activity data at a moment, and why not if not: not
    after withdrawal from data collection (or of data), nor while consent is missing,
    declined or must be given again (Active MK II answers a refused sync with a 403)."""
    on = at.astimezone(LONDON).date()
    made = [w for w in state.withdrawals if w.at <= at]
    level = max(made, key=lambda w: WITHDRAWAL_LEVELS[w.level].rank, default=None)
    if level is not None and WITHDRAWAL_LEVELS[level.level].rank >= 2:
        return False, "The participant has stopped data collection."
    consent = consent_state([c for c in state.choices if c.recorded_at <= at], on)
    if consent.status == "outdated":
        return False, "The participant must consent again to the new consent version."
    if consent.status != "current":
        return False, "The participant has not consented to take part."
    return True, ""
