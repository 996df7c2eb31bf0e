"""The nightly goals and rewards batch: `run-due` steps after day finalisation.

1. `set-goals`: each participant's goal for every week up to this one not yet set, by the
   goal rule in force, from what was recorded by the end of the Sunday before (readiness)
   and the days received by then; stored with the rule version and inputs.
2. `award-rewards`: close the accounts of those who withdrew or finished; reserve caps
   for participants still without a reservation; evaluate each week whose days are all
   final (and again any week a day was revised after final); credit or reverse points;
   turn points into vouchers within the caps.
3. `issue-vouchers`: give a code from the voucher provider for each conversion without one.

Every piece is set-based: a handful of queries for all participants, rules applied in
memory, rows written in bulk. Each step is one transaction that starts by taking the
ledger's lock row, so a batch killed half-way leaves nothing, and a second batch at the
same time waits and then finds the work done; the ledger's unique key turns any write it
missed into a failed transaction, never a second payment.
"""

from __future__ import annotations

import json
import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from mkdeal.activity import rewards as R
from mkdeal.activity.days import SOURCE_PRIORITY, day_for_goals, day_rules, valid_day
from mkdeal.activity.goals import Day, Goal, MKWeeklyPrescription, week_result, week_start
from mkdeal.activity.participants import ParticipantRecord, records
from mkdeal.activity.programme import Limits
from mkdeal.activity.readiness import NOT_READY, readiness, withdrawal_on
from mkdeal.activity.vouchers import VoucherProvider
from mkdeal.appdb.models import (
    ActivityDay,
    AuditEvent,
    GoalWeek,
    Participant,
    ProgrammeLock,
    RewardBudget,
    RewardEntry,
    RewardNotification,
    VoucherStock,
)
from mkdeal.errors import UserError
from mkdeal.scheduling import Step, StepContext

log = logging.getLogger(__name__)
GOAL_RULE = MKWeeklyPrescription()
REWARD_RULE = R.RewardRule()
CHUNK = 5000
PEOPLE_AT_ONCE = 2000  # participants whose history a batch holds in memory at once


# --- shared ------------------------------------------------------------------------------


def take_lock(session: Session, name: str = "rewards") -> None:
    """Serialise writers of the ledger: an update of one row blocks a second transaction
    on PostgreSQL until the first ends, and takes SQLite's write lock at once."""
    session.execute(_insert_ignoring_existing(session, ProgrammeLock).values(name=name, taken=0))
    session.execute(
        update(ProgrammeLock)
        .where(ProgrammeLock.name == name)
        .values(taken=ProgrammeLock.taken + 1)
    )


def programme_start(participant: ParticipantRecord) -> date:
    """The participant's programme starts on their local date of enrolment."""
    return participant.enrolled_at.astimezone(ZoneInfo(participant.time_zone)).date()


def first_goal_week(start: date, rule: MKWeeklyPrescription = GOAL_RULE) -> date:
    """The first Monday after the run-in."""
    day = start + timedelta(days=rule.run_in_days)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _insert_ignoring_existing(session: Session, model):
    """An INSERT that leaves a row whose key is already there (both stores' dialects)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model).on_conflict_do_nothing()


def _chunks(values: Sequence, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _bulk_insert(session: Session, model, rows: list[dict], ignore_existing: bool = False) -> None:
    if not rows:
        return
    statement = _insert_ignoring_existing(session, model) if ignore_existing else insert(model)
    for part in _chunks(rows):
        session.execute(statement, part)


def load_days(
    session: Session, participant_ids: Sequence[int], since: date, until: date
) -> dict[int, list[Day]]:
    """Each participant's days from `since` to before `until`, one source a date
    (days.SOURCE_PRIORITY), each marked valid or not by the rule in force, in date order."""
    by_date: dict[tuple[int, date], dict[str, list]] = defaultdict(dict)
    ids = sorted(participant_ids)
    for part in _chunks(ids, 900):
        rows = session.execute(
            select(
                ActivityDay.participant_id,
                ActivityDay.local_date,
                ActivityDay.source,
                ActivityDay.steps,
                ActivityDay.light_minutes,
                ActivityDay.moderate_minutes,
                ActivityDay.vigorous_minutes,
                ActivityDay.wear_minutes,
            ).where(
                ActivityDay.participant_id.in_(part),
                # Only the sources day_for_goals chooses from, named so that the primary
                # key (participant, source, date) finds the dates without reading the rest
                # of each participant's history.
                ActivityDay.source.in_(SOURCE_PRIORITY),
                ActivityDay.local_date >= since,
                ActivityDay.local_date < until,
            )
        )
        for pid, local_date, source, *values in rows:
            by_date[(pid, local_date)][source] = values
    days: dict[int, list[Day]] = defaultdict(list)
    for (pid, local_date), by_source in sorted(by_date.items()):
        chosen = day_for_goals(by_source)
        if chosen is None:
            continue
        steps, light, moderate, vigorous, wear = chosen[1]
        values = {
            "steps": steps,
            "light_minutes": light,
            "moderate_minutes": moderate,
            "vigorous_minutes": vigorous,
            "wear_minutes": wear,
        }
        days[pid].append(Day(local_date, steps, moderate, vigorous, valid_day(values)[0]))
    return days


# --- 1. goals ----------------------------------------------------------------------------


# A goal week's columns that make its Goal: read as plain rows, not ORM objects.
_GOAL_COLUMNS = (
    GoalWeek.participant_id,
    GoalWeek.week_start,
    GoalWeek.rule,
    GoalWeek.active_minutes,
    GoalWeek.daily_steps,
    GoalWeek.plan_week,
    GoalWeek.held,
    GoalWeek.inputs,
)


def _goal_of(row) -> Goal:
    return Goal(
        row.week_start,
        row.rule,
        row.active_minutes,
        row.daily_steps,
        row.plan_week,
        row.held,
        row.inputs,
    )


def set_goals(app: Engine, *, as_of: date, now: datetime) -> int:
    """Set every goal due up to the week holding `as_of`; returns how many weeks were set
    (with or without a goal). A week already set is never set again."""
    current = week_start(as_of)
    people = records(app)
    with Session(app) as session, session.begin():
        take_lock(session, "goals")
        last_week = dict(
            session.execute(
                select(GoalWeek.participant_id, func.max(GoalWeek.week_start)).group_by(
                    GoalWeek.participant_id
                )
            ).all()
        )
        latest = (
            select(GoalWeek.participant_id, func.max(GoalWeek.week_start).label("week"))
            .where(GoalWeek.readiness != NOT_READY)
            .group_by(GoalWeek.participant_id)
            .subquery()
        )
        previous = {
            row.participant_id: _goal_of(row)
            for row in session.execute(
                select(*_GOAL_COLUMNS).join(
                    latest,
                    and_(
                        GoalWeek.participant_id == latest.c.participant_id,
                        GoalWeek.week_start == latest.c.week,
                    ),
                )
            )
        }
        work: dict[int, tuple[ParticipantRecord, date, list[date]]] = {}
        for person in people:
            if withdrawal_on(person.state.withdrawals, as_of) is not None:
                continue  # a withdrawal is for good: no more goals
            first = first_goal_week(programme_start(person))
            week = last_week[person.id] + timedelta(7) if person.id in last_week else first
            last = min(current, first + timedelta(weeks=GOAL_RULE.last_week - 1))
            weeks = []
            while week <= last:
                weeks.append(week)
                week += timedelta(7)
            if weeks:
                work[person.id] = (person, first, weeks)
        if not work:
            return 0
        # A few thousand participants at a time: a first batch over a year of history
        # need not hold everyone's days and goals in memory at once.
        count = 0
        for part in _chunks(list(work.items()), PEOPLE_AT_ONCE):
            count += _set_goals_of(session, part, previous, current, now)
    return count


def _set_goals_of(
    session: Session,
    work: Sequence[tuple[int, tuple[ParticipantRecord, date, list[date]]]],
    previous: dict[int, Goal],
    current: date,
    now: datetime,
) -> int:
    """set_goals for some of the participants with weeks due; returns how many were set."""
    # The week before each new week, or the run-in before a first goal: a year of
    # history is not read every night.
    since = min(
        weeks[0] - timedelta(7 if pid in previous else max(7, GOAL_RULE.run_in_days))
        for pid, (_, _, weeks) in work
    )
    days = load_days(session, [pid for pid, _ in work], since, current)
    rows = []
    for pid, (person, first, weeks) in work:
        goal = previous.get(pid)
        mine = days.get(pid, [])
        dates = [day.local_date for day in mine]
        for week in weeks:
            # What was recorded by the end of the Sunday before: derivable again.
            decision = readiness(person.state, week - timedelta(1))
            # After a goal the rule reads only the week before (as `since` assumes),
            # so it is handed that week rather than all the history loaded.
            history = (
                mine
                if goal is None
                else mine[bisect_left(dates, week - timedelta(7)) : bisect_left(dates, week)]
            )
            new = GOAL_RULE.goal(week, decision.answer, history, goal, first, decision.limits)
            row = {
                "participant_id": pid,
                "week_start": week,
                "rule": GOAL_RULE.name,
                "readiness": decision.answer,
                "computed_at": now,
                "active_minutes": None,
                "daily_steps": None,
                "plan_week": None,
                "held": False,
                "inputs": {"reasons": list(decision.reasons)},
                "met": None,
                "result": None,
                "evaluated_at": None,
            }
            if new is not None:
                row.update(
                    active_minutes=new.active_minutes,
                    daily_steps=new.daily_steps,
                    plan_week=new.plan_week,
                    held=new.held,
                    inputs={**new.inputs, "reasons": list(decision.reasons)},
                )
                goal = new
            rows.append(row)
    _bulk_insert(session, GoalWeek, rows, ignore_existing=True)
    return len(rows)


# --- 2. rewards --------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardSummary:
    reserved: int
    waiting_for_budget: int
    weeks_evaluated: int
    credits: int
    reversals: int
    revisions: int
    conversions: int
    closed: int

    def text(self) -> str:
        text = (
            f"{self.weeks_evaluated:,} weeks evaluated: {self.credits:,} credited, "
            f"{self.reversals:,} reversed, {self.revisions:,} revisions recorded; "
            f"{self.conversions:,} vouchers' worth converted; {self.reserved:,} reservations "
            f"made; {self.closed:,} accounts closed."
        )
        if self.waiting_for_budget:
            text += f" {self.waiting_for_budget:,} participants wait for budget to be reserved."
        return text


def budget_pence(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.sum(RewardBudget.pence), 0))) or 0


def ledger_sums(session: Session) -> dict[str, int]:
    """Pence summed by kind, over the whole ledger."""
    rows = session.execute(
        select(RewardEntry.kind, func.sum(RewardEntry.pence)).group_by(RewardEntry.kind)
    )
    return {kind: int(total or 0) for kind, total in rows}


def positions(session: Session, rule: R.RewardRule = REWARD_RULE) -> dict[int, R.Position]:
    """Every participant's position, from the ledger summed by kind and programme year."""
    found: dict[int, R.Position] = defaultdict(R.Position)
    rows = session.execute(
        select(
            RewardEntry.participant_id,
            RewardEntry.kind,
            RewardEntry.cap_year,
            func.sum(RewardEntry.points),
            func.sum(RewardEntry.pence),
            func.count(),
        )
        .where(RewardEntry.rule == rule.name)
        .group_by(RewardEntry.participant_id, RewardEntry.kind, RewardEntry.cap_year)
    )
    for pid, kind, year, points, pence, count in rows:
        # Each row sums one kind in one programme year: apply it as one entry, then
        # count every conversion it holds as a voucher.
        pos = R.apply(found[pid], R.Entry(kind, "", int(points), int(pence), year))
        if kind == R.CONVERT:
            pos = replace(pos, vouchers=pos.vouchers + count - 1)
        found[pid] = pos
    return found


def _weeks_to_evaluate(session: Session, as_of: date) -> list[tuple[int, date]]:
    """Weeks with a goal whose days are all final and not yet evaluated, and weeks already
    evaluated where a day was revised after final since."""
    last_final = as_of - timedelta(days=day_rules().final_after_days + 1)
    newest = last_final - timedelta(days=6)
    fresh = session.execute(
        select(GoalWeek.participant_id, GoalWeek.week_start).where(
            GoalWeek.readiness != NOT_READY,
            GoalWeek.evaluated_at.is_(None),
            GoalWeek.week_start <= newest,
        )
    ).all()
    revised = session.execute(
        select(ActivityDay.participant_id, ActivityDay.local_date, ActivityDay.received_at).where(
            ActivityDay.revised_after_final.is_(True)
        )
    ).all()
    again: set[tuple[int, date]] = set()
    if revised:
        latest: dict[tuple[int, date], datetime] = {}
        for pid, local_date, received_at in revised:
            key = (pid, week_start(local_date))
            latest[key] = max(latest.get(key, received_at), received_at)
        pids = sorted({pid for pid, _ in latest})
        for part in _chunks(pids, 900):
            rows = session.execute(
                select(GoalWeek.participant_id, GoalWeek.week_start, GoalWeek.evaluated_at).where(
                    GoalWeek.participant_id.in_(part), GoalWeek.evaluated_at.is_not(None)
                )
            )
            for pid, week, evaluated_at in rows:
                if (pid, week) in latest and latest[(pid, week)] > evaluated_at:
                    again.add((pid, week))
    return sorted({*map(tuple, fresh), *again})


def _evaluate(
    session: Session, weeks: list[tuple[int, date]], now: datetime
) -> dict[tuple[int, date], bool]:
    """How each week did against its goal; the result is written to the goal week.

    A week at a time: the goals and days of exactly the weeks wanted, so that a day revised
    months ago does not make the night read everyone's history since, and a first batch
    over a year holds one week in memory, not the year."""
    if not weeks:
        return {}
    by_week: dict[date, list[int]] = defaultdict(list)
    for pid, week in weeks:
        by_week[week].append(pid)
    met: dict[tuple[int, date], bool] = {}
    for week, pids in sorted(by_week.items()):
        days = load_days(session, pids, week, week + timedelta(7))
        updates = []
        for part in _chunks(sorted(pids), 900):
            rows = session.execute(
                select(*_GOAL_COLUMNS).where(
                    GoalWeek.participant_id.in_(part), GoalWeek.week_start == week
                )
            ).all()
            for row in rows:
                limits = Limits(**row.inputs.get("limits", {}))
                result = week_result(_goal_of(row), days.get(row.participant_id, []), limits)
                met[(row.participant_id, row.week_start)] = result.met
                updates.append(
                    {
                        "participant_id": row.participant_id,
                        "week_start": row.week_start,
                        "met": result.met,
                        "evaluated_at": now,
                        "result": {
                            "active_minutes": result.active_minutes,
                            "mean_daily_steps": result.mean_daily_steps,
                            "valid_days": result.valid_days,
                            "met_on_minutes": result.met_on_minutes,
                            "met_on_steps": result.met_on_steps,
                        },
                    }
                )
        for part in _chunks(updates):
            session.execute(update(GoalWeek), part)
    return met


def _week_entries_had(
    session: Session, weeks: Sequence[tuple[int, date]], rule: R.RewardRule
) -> dict[tuple[int, str], R.WeekEntries]:
    """The entries each evaluated week already has, and whether its credit was notified."""
    kinds: dict[tuple[int, str], set[str]] = defaultdict(set)
    notified: set[tuple[int, str]] = set()
    periods = sorted({week.isoformat() for _, week in weeks})
    pids = sorted({pid for pid, _ in weeks})
    for part in _chunks(pids, 900):
        rows = session.execute(
            select(
                RewardEntry.participant_id,
                RewardEntry.period,
                RewardEntry.kind,
                RewardNotification.entry_id,
            )
            .outerjoin(RewardNotification, RewardNotification.entry_id == RewardEntry.id)
            .where(
                RewardEntry.rule == rule.name,
                RewardEntry.participant_id.in_(part),
                RewardEntry.period.in_(periods),
            )
        )
        for pid, period, kind, notified_id in rows:
            kinds[(pid, period)].add(kind)
            if kind == R.CREDIT and notified_id is not None:
                notified.add((pid, period))
    return {key: R.WeekEntries(frozenset(value), key in notified) for key, value in kinds.items()}


def _entry_row(pid: int, entry: R.Entry, rule: R.RewardRule, as_of: date, now: datetime) -> dict:
    return {
        "participant_id": pid,
        "rule": rule.name,
        "period": entry.period,
        "kind": entry.kind,
        "points": entry.points,
        "pence": entry.pence,
        "cap_year": entry.cap_year,
        "as_of": as_of,
        "voucher_id": None,
        "detail": dict(entry.detail),
        "created_at": now,
    }


def award(
    app: Engine,
    *,
    as_of: date,
    now: datetime,
    rule: R.RewardRule = REWARD_RULE,
    people: list[ParticipantRecord] | None = None,
) -> AwardSummary:
    """Close, reserve, evaluate, credit or reverse, and convert, in one transaction."""
    people = records(app) if people is None else people
    by_id = {p.id: p for p in people}
    with Session(app) as session, session.begin():
        take_lock(session)
        pos = positions(session, rule)
        new: list[dict] = []
        counts: dict[str, int] = defaultdict(int)

        def add(pid: int, entries: list[R.Entry]) -> None:
            for entry in entries:
                pos[pid] = R.apply(pos[pid], entry)
                new.append(_entry_row(pid, entry, rule, as_of, now))
                counts[entry.kind] += 1

        ended: dict[int, str] = {}
        for person in people:
            withdrawn = withdrawal_on(person.state.withdrawals, as_of)
            if withdrawn is not None:
                ended[person.id] = f"withdrew ({withdrawn.level})"
            elif as_of >= R.programme_end(rule, programme_start(person)):
                ended[person.id] = "programme ended"

        # Close first, so that what is released tonight can be reserved tonight.
        closed = 0
        released = 0
        for person in people:
            if person.id in ended:
                year = R.cap_year(programme_start(person), as_of)
                entries = R.closing(pos[person.id], year, ended[person.id])
                closed += any(e.kind == R.RELEASE for e in entries)
                released += sum(e.pence for e in entries if e.kind == R.RELEASE)
                add(person.id, entries)

        # Reservations, in order of enrolment, while the budget covers them.
        sums = ledger_sums(session)
        available = R.totals(budget_pence(session), sums).available + released
        waiting = 0
        for person in people:
            if pos[person.id].reserved_pence or person.id in ended:
                continue
            entry = R.reservation(rule, available)
            if entry is None:
                waiting += 1
                continue
            add(person.id, [entry])
            available -= entry.pence

        weeks = _weeks_to_evaluate(session, as_of)
        weeks = [(pid, week) for pid, week in weeks if pid in by_id]
        met = _evaluate(session, weeks, now)
        had = _week_entries_had(session, weeks, rule)
        for pid, week in weeks:
            if (pid, week) not in met:
                continue
            year = R.cap_year(programme_start(by_id[pid]), week)
            have = had.get((pid, week.isoformat()), R.WeekEntries())
            add(pid, R.week_entries(rule, week, met[(pid, week)], have, pos[pid], year))

        for person in people:
            if person.id not in ended:
                year = R.cap_year(programme_start(person), as_of)
                add(person.id, R.conversions(rule, pos[person.id], year))
        _bulk_insert(session, RewardEntry, new)
    return AwardSummary(
        counts[R.RESERVE],
        waiting,
        len(met),
        counts[R.CREDIT],
        counts[R.REVERSAL],
        counts[R.REVISION],
        counts[R.CONVERT],
        closed,
    )


# --- 3. vouchers -------------------------------------------------------------------------


def waiting_for_vouchers(session: Session) -> list[RewardEntry]:
    """Conversions that have no voucher yet."""
    issued = aliased(RewardEntry)
    return list(
        session.scalars(
            select(RewardEntry)
            .outerjoin(
                issued,
                and_(
                    issued.participant_id == RewardEntry.participant_id,
                    issued.rule == RewardEntry.rule,
                    issued.period == RewardEntry.period,
                    issued.kind == R.ISSUE,
                ),
            )
            .where(RewardEntry.kind == R.CONVERT, issued.id.is_(None))
            .order_by(RewardEntry.id)
        )
    )


def issue_vouchers(
    app: Engine, provider: VoucherProvider, *, as_of: date, now: datetime
) -> tuple[int, int]:
    """A code for every conversion without one, as far as stock goes; returns (issued,
    still waiting for stock)."""
    with Session(app) as session, session.begin():
        take_lock(session)
        waiting = waiting_for_vouchers(session)
        if not waiting:
            return 0, 0
        taken = provider.take(session, [entry.pence for entry in waiting], now)
        rows = []
        for entry, voucher_id in zip(waiting, taken, strict=True):
            if voucher_id is None:
                continue
            rows.append(
                {
                    "participant_id": entry.participant_id,
                    "rule": entry.rule,
                    "period": entry.period,
                    "kind": R.ISSUE,
                    "points": 0,
                    "pence": entry.pence,
                    "cap_year": entry.cap_year,
                    "as_of": as_of,
                    "voucher_id": voucher_id,
                    "detail": {"provider": provider.name},
                    "created_at": now,
                }
            )
        _bulk_insert(session, RewardEntry, rows)
    return len(rows), len(waiting) - len(rows)


# --- notification ------------------------------------------------------------------------


def notify(app: Engine, participant_id: int, *, now: datetime, channel: str = "app") -> int:
    """Mark every credit, conversion and voucher of a participant as shown to them: from
    now on none is clawed back. Returns how many were newly marked."""
    with Session(app) as session, session.begin():
        take_lock(session)
        ids = list(
            session.scalars(
                select(RewardEntry.id)
                .outerjoin(RewardNotification, RewardNotification.entry_id == RewardEntry.id)
                .where(
                    RewardEntry.participant_id == participant_id,
                    RewardEntry.kind.in_((R.CREDIT, R.CONVERT, R.ISSUE)),
                    RewardNotification.entry_id.is_(None),
                )
            )
        )
        _bulk_insert(
            session,
            RewardNotification,
            [{"entry_id": i, "notified_at": now, "channel": channel} for i in ids],
        )
    return len(ids)


def reserve_at_enrolment(session: Session, participant_id: int, now: datetime, on: date) -> bool:
    """Reserve a new participant's caps in the enrolment's own transaction, when the budget
    covers them; otherwise the nightly batch reserves them once it does. True if reserved."""
    take_lock(session)
    available = R.totals(budget_pence(session), ledger_sums(session)).available
    entry = R.reservation(REWARD_RULE, available)
    if entry is None:
        return False
    session.add(RewardEntry(**_entry_row(participant_id, entry, REWARD_RULE, on, now)))
    return True


def add_budget(
    app: Engine, pence: int, note: str, *, actor: str, now: datetime, once: bool = False
) -> int | None:
    """Put money into the reward budget (never taken out); returns the new total, or None
    when `once` and money with the same note was added before."""
    if pence <= 0:
        raise UserError("Money added to the budget must be more than £0.")
    if not note.strip():
        raise UserError("Say where the money comes from (--note).")
    with Session(app) as session, session.begin():
        take_lock(session)
        if once and session.scalar(
            select(RewardBudget.id).where(RewardBudget.note == note.strip()).limit(1)
        ):
            return None
        session.add(RewardBudget(pence=pence, note=note.strip(), added_at=now, added_by=actor))
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="programme.budget_add",
                target="reward budget",
                detail=json.dumps({"pence": pence, "note": note.strip()}),
            )
        )
        session.flush()
        return budget_pence(session)


def provider_for(settings) -> VoucherProvider:
    """The voucher provider in force: the built-in stock provider."""
    from mkdeal.activity.vouchers import StockProvider

    settings.require_keys()
    return StockProvider(settings.encryption_key)


# --- run-due steps -----------------------------------------------------------------------


def _daily_due(context: StepContext) -> list[str]:
    with Session(context.app_engine) as session:
        anyone = session.scalar(select(Participant.id).limit(1))
    return [context.as_of.isoformat()] if anyone else []


def _goals_run(context: StepContext, key: str) -> str:
    count = set_goals(context.app_engine, as_of=date.fromisoformat(key), now=now_utc())
    return f"{count:,} participant-weeks set."


def _award_run(context: StepContext, key: str) -> str:
    return award(context.app_engine, as_of=date.fromisoformat(key), now=now_utc()).text()


def _vouchers_due(context: StepContext) -> list[str]:
    """Due while conversions wait and stock is loaded; the key names both, so new
    conversions or new stock make new work."""
    with Session(context.app_engine) as session:
        waiting = waiting_for_vouchers(session)
        newest_stock = session.scalar(select(func.max(VoucherStock.id)))
    if not waiting or newest_stock is None:
        return []
    return [f"{context.as_of.isoformat()}:entry-{waiting[-1].id}:stock-{newest_stock}"]


def _vouchers_run(context: StepContext, key: str) -> str:
    as_of = date.fromisoformat(key.split(":")[0])
    provider = provider_for(context.settings)
    issued, short = issue_vouchers(context.app_engine, provider, as_of=as_of, now=now_utc())
    text = f"{issued:,} vouchers issued."
    if short:
        text += f" {short:,} wait for stock: load more codes (mkdeal programme vouchers load)."
    return text


GOALS_STEP = Step(
    name="set-goals",
    description="Set each Active MK participant's goal for the new week.",
    due=_daily_due,
    run=_goals_run,
    after=("finalise-activity-days",),
)
AWARD_STEP = Step(
    name="award-rewards",
    description="Reserve caps, credit weeks met, close accounts, convert points to vouchers.",
    due=_daily_due,
    run=_award_run,
    after=("set-goals",),
)
VOUCHERS_STEP = Step(
    name="issue-vouchers",
    description="Give a voucher code for every conversion without one.",
    due=_vouchers_due,
    run=_vouchers_run,
    after=("award-rewards",),
)


def now_utc() -> datetime:
    return datetime.now(UTC)
