"""What a participant sees of their own goals and rewards (`/me`), and what programme staff
see of one participant's goals and ledger, and of everyone waiting for budget or a code.

Queries are small and read only, but for `reveal_voucher`, which writes the audit event
of a code's view before the code is decrypted. The sentences a participant reads are
built here, from the goal week's stored inputs, so they say what the rule decided and
never more. Nothing here reads the identifiable store.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mkdeal.activity import rewards as R
from mkdeal.activity.days import day_rules
from mkdeal.activity.goals import Goal, WeekResult, week_result, week_start
from mkdeal.activity.nightly import (
    GOAL_RULE,
    REWARD_RULE,
    first_goal_week,
    load_days,
    programme_start,
    waiting_for_vouchers,
)
from mkdeal.activity.participants import ParticipantRecord, _audit
from mkdeal.activity.programme import Limits
from mkdeal.activity.readiness import HOLD, NOT_READY, withdrawal_on
from mkdeal.activity.vouchers import VoucherProvider
from mkdeal.appdb.models import (
    GoalWeek,
    Participant,
    ParticipantAccount,
    RewardEntry,
    RewardNotification,
)

RECENT_WEEKS = 8
VOUCHER_VIEW = "programme.voucher_view"


def local_today(participant: ParticipantRecord, now: datetime) -> date:
    """The participant's own date now: their study days are local dates."""
    return now.astimezone(ZoneInfo(participant.time_zone)).date()


# --- sentences ---------------------------------------------------------------------------


def _monday(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _limits(row: GoalWeek) -> Limits:
    return Limits(**(row.inputs or {}).get("limits", {}))


def has_goal(row: GoalWeek | None) -> bool:
    return (
        row is not None
        and row.readiness != NOT_READY
        and row.active_minutes is not None
        and row.daily_steps is not None
    )


def goal_sentence(row: GoalWeek, this_week: bool = True) -> str:
    """The week's goal in one sentence, as the participant reads it."""
    vigorous = (
        "vigorous minutes count the same as moderate ones"
        if _limits(row).no_vigorous
        else "vigorous minutes count double"
    )
    when = f"This week, from {_monday(row.week_start)}" if this_week else "The goal"
    return (
        f"{when}: {row.active_minutes:,} active minutes ({vigorous}), or an average of "
        f"{row.daily_steps:,} steps a day on the days you wear your device."
    )


_FEW_DAYS = re.compile(r"^(\d+) valid days the week before, fewer than (\d+)$")


def held_sentences(row: GoalWeek) -> list[str]:
    """Why a goal stays as it was, in the participant's words."""
    inputs = row.inputs or {}
    sentences: list[str] = []
    for why in inputs.get("held_because", []):
        few = _FEW_DAYS.match(why)
        if why == f"readiness is {HOLD}":
            sentences.extend(inputs.get("reasons") or ["Your goal is on hold for now."])
        elif few:
            worn, needed = int(few.group(1)), int(few.group(2))
            days = "day" if worn == 1 else "days"
            sentences.append(
                f"Your device recorded {worn} full {days} last week; your goal moves on after "
                f"a week with at least {needed}."
            )
        else:
            sentences.append(why[:1].upper() + why[1:] + ("" if why.endswith(".") else "."))
    return sentences


def not_ready_sentences(row: GoalWeek) -> list[str]:
    return list((row.inputs or {}).get("reasons") or [])


def _goal(row: GoalWeek) -> Goal:
    return Goal(
        row.week_start,
        row.rule,
        row.active_minutes or 0,
        row.daily_steps or 0,
        row.plan_week or 0,
        row.held,
        row.inputs or {},
    )


# --- the participant's page --------------------------------------------------------------


@dataclass(frozen=True)
class PastWeek:
    row: GoalWeek
    points: int  # credited less reversed
    credited: bool
    reversed: bool
    kept_after_revision: bool  # later data changed the week, and the reward stood


@dataclass(frozen=True)
class Voucher:
    entry_id: int
    pence: int
    issued_on: date


@dataclass(frozen=True)
class MyPage:
    participant: ParticipantRecord
    today: date
    week: date  # this week's Monday
    first_week: date
    goals_ended: bool
    this_week: GoalWeek | None
    progress: WeekResult | None
    progress_days: int  # days of this week so far, today included
    recent: tuple[PastWeek, ...]
    points: int
    to_next_voucher: int
    vouchers: tuple[Voucher, ...]
    on_the_way: tuple[int, ...]  # pence of each conversion waiting for a code
    closed: bool
    withdrawn: bool  # no goals are set after a withdrawal

    @property
    def held(self) -> list[str]:
        return held_sentences(self.this_week) if self.this_week is not None else []

    @property
    def goal_sentence(self) -> str:
        return goal_sentence(self.this_week) if has_goal(self.this_week) else ""


def my_page(
    app: Engine, participant: ParticipantRecord, today: date, rule: R.RewardRule = REWARD_RULE
) -> MyPage:
    """Everything `/me` shows, for one participant on their `today`."""
    week = week_start(today)
    first = first_goal_week(programme_start(participant))
    last = first + timedelta(weeks=GOAL_RULE.last_week - 1)
    pid = participant.id
    with Session(app) as session:
        current = session.get(GoalWeek, (pid, week))
        rows = list(
            session.scalars(
                select(GoalWeek)
                .where(
                    GoalWeek.participant_id == pid,
                    GoalWeek.week_start < week,
                    GoalWeek.evaluated_at.is_not(None),
                )
                .order_by(GoalWeek.week_start.desc())
                .limit(RECENT_WEEKS)
            )
        )
        entries = list(
            session.scalars(
                select(RewardEntry)
                .where(RewardEntry.participant_id == pid)
                .order_by(RewardEntry.id)
            )
        )
        progress, so_far = None, 0
        if has_goal(current):
            until = min(today + timedelta(days=1), week + timedelta(days=7))
            days = load_days(session, [pid], week, until).get(pid, [])
            progress = week_result(_goal(current), days, _limits(current))
            so_far = (until - week).days
        session.expunge_all()
    by_period: dict[str, dict[str, RewardEntry]] = defaultdict(dict)
    for entry in entries:
        by_period[entry.period][entry.kind] = entry
    recent = []
    for row in rows:
        kinds = by_period.get(row.week_start.isoformat(), {})
        points = sum(kinds[k].points for k in (R.CREDIT, R.REVERSAL) if k in kinds)
        revision = kinds.get(R.REVISION)
        recent.append(
            PastWeek(
                row,
                points,
                R.CREDIT in kinds,
                R.REVERSAL in kinds,
                revision is not None and "kept" in (revision.detail or {}),
            )
        )
    points = sum(entry.points for entry in entries)
    issued = {e.period for e in entries if e.kind == R.ISSUE}
    vouchers = tuple(
        Voucher(e.id, e.pence, e.as_of)
        for e in sorted(entries, key=lambda e: e.id, reverse=True)
        if e.kind == R.ISSUE and e.voucher_id is not None
    )
    return MyPage(
        participant,
        today,
        week,
        first,
        week > last,
        current,
        progress,
        so_far,
        tuple(recent),
        points,
        rule.points_per_voucher - points % rule.points_per_voucher,
        vouchers,
        tuple(e.pence for e in entries if e.kind == R.CONVERT and e.period not in issued),
        any(e.kind == R.RELEASE for e in entries),
        withdrawal_on(participant.state.withdrawals, today) is not None,
    )


def counted_after_days() -> int:
    """How many days after a week ends it is counted: once its last day is final."""
    return day_rules().final_after_days + 1


def reveal_voucher(
    app: Engine,
    provider: VoucherProvider,
    participant: ParticipantRecord,
    entry_id: int,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> tuple[Voucher, str] | None:
    """A voucher's code, for the participant it was issued to; None if the entry is not an
    issue of theirs. The view is written to the audit log (never the code) first."""
    with Session(app) as session, session.begin():
        entry = session.get(RewardEntry, entry_id)
        if (
            entry is None
            or entry.participant_id != participant.id
            or entry.kind != R.ISSUE
            or entry.voucher_id is None
        ):
            return None
        voucher = Voucher(entry.id, entry.pence, entry.as_of)
        voucher_id = entry.voucher_id
        _audit(
            session,
            actor,
            VOUCHER_VIEW,
            participant.reference,
            {"entry": entry.id},
            now,
            request_id,
        )
    with Session(app) as session:
        return voucher, provider.reveal(session, voucher_id)


# --- what staff see ----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    entry: RewardEntry
    notified_at: datetime | None


def goal_weeks(app: Engine, participant_id: int) -> list[GoalWeek]:
    """Every goal week of a participant, newest first."""
    with Session(app) as session:
        rows = list(
            session.scalars(
                select(GoalWeek)
                .where(GoalWeek.participant_id == participant_id)
                .order_by(GoalWeek.week_start.desc())
            )
        )
        session.expunge_all()
    return rows


def ledger_lines(app: Engine, participant_id: int) -> list[LedgerLine]:
    """A participant's ledger entries, newest first, each with when it was shown to them."""
    with Session(app) as session:
        rows = session.execute(
            select(RewardEntry, RewardNotification.notified_at)
            .outerjoin(RewardNotification, RewardNotification.entry_id == RewardEntry.id)
            .where(RewardEntry.participant_id == participant_id)
            .order_by(RewardEntry.id.desc())
        ).all()
        lines = [LedgerLine(entry, notified_at) for entry, notified_at in rows]
        session.expunge_all()
    return lines


@dataclass(frozen=True)
class WaitingCode:
    reference: str
    pence: int
    converted_on: date


def waiting_for_codes(app: Engine) -> list[WaitingCode]:
    """Conversions with no code yet, oldest first, by participant reference."""
    with Session(app) as session:
        waiting = waiting_for_vouchers(session)
        ids = sorted({entry.participant_id for entry in waiting})
        references = dict(
            session.execute(
                select(Participant.id, Participant.reference).where(Participant.id.in_(ids))
            ).all()
        )
        return [
            WaitingCode(references[entry.participant_id], entry.pence, entry.as_of)
            for entry in waiting
        ]


def waiting_for_budget(
    app: Engine, people: Sequence[ParticipantRecord], today: date, rule: R.RewardRule = REWARD_RULE
) -> list[ParticipantRecord]:
    """Participants with no reservation yet who still could have one: not withdrawn and
    their programme not over. They are reserved, in order of enrolment, once budget comes."""
    with Session(app) as session:
        reserved = set(
            session.scalars(
                select(RewardEntry.participant_id).where(
                    RewardEntry.kind == R.RESERVE, RewardEntry.rule == rule.name
                )
            )
        )
    return [
        person
        for person in people
        if person.id not in reserved
        and withdrawal_on(person.state.withdrawals, today) is None
        and today < R.programme_end(rule, programme_start(person))
    ]


KIND_WORDS: Mapping[str, str] = {
    R.RESERVE: "Caps reserved from the budget",
    R.CREDIT: "Points for a week met",
    R.REVERSAL: "Points taken back: the week was not met after all",
    R.REVISION: "Week's result changed; nothing paid or taken back",
    R.CONVERT: "Points turned into a voucher",
    R.ISSUE: "Voucher code issued",
    R.EXPIRE: "Points left expired",
    R.RELEASE: "Unused reservation returned to the budget",
}
NOTIFIED_KINDS = frozenset({R.CREDIT, R.CONVERT, R.ISSUE})


def has_sign_in(app: Engine, participant_id: int) -> bool:
    """Whether staff have linked a sign-in to the participant (`mkdeal programme account`)."""
    with Session(app) as session:
        return (
            session.scalar(
                select(ParticipantAccount.user_id).where(
                    ParticipantAccount.participant_id == participant_id
                )
            )
            is not None
        )
