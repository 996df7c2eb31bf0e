"""Active MK rewards: the ledger's rules as properties over random histories, then the
nightly batch on a real app database (goals set once, weeks credited once, revisions,
withdrawal, budget, vouchers), a batch killed half-way, two batches at once on
PostgreSQL, and reconciliation."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mkdeal.activity import consent, participants
from mkdeal.activity import rewards as R
from mkdeal.activity.nightly import (
    add_budget,
    award,
    first_goal_week,
    issue_vouchers,
    notify,
    set_goals,
)
from mkdeal.activity.participants import Identity
from mkdeal.activity.programme import SCREEN_CODES, Eligibility
from mkdeal.activity.reconcile import reconcile
from mkdeal.activity.vouchers import StockProvider, load_stock
from mkdeal.appdb.models import ActivityDay, GoalWeek, RewardEntry, VoucherStock
from mkdeal.db import IDENTIFIABLE_STORE, open_app_database, open_store, upgrade
from mkdeal.people import Pseudonymiser

RULE = R.RewardRule()
SMALL_CAP = R.RewardRule(yearly_cap_pence=3000, programme_years=2)

# --- the ledger's rules, as properties ---------------------------------------------------

START = date(2026, 2, 2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("week"), st.integers(0, 3), st.integers(0, 30), st.booleans()),
        st.tuples(st.just("notify"), st.integers(0, 3)),
        st.tuples(st.just("convert"), st.integers(0, 3), st.integers(0, 800)),
        st.tuples(st.just("close"), st.integers(0, 3)),
        st.tuples(st.just("reserve"), st.integers(0, 3)),
        st.tuples(
            st.just("again"),
        ),
    ),
    max_size=60,
)


class Ledger:
    """The ledger as the database keeps it: one entry per key; a second is an error."""

    def __init__(self, rule: R.RewardRule, budget: int) -> None:
        self.rule, self.budget = rule, budget
        self.entries: dict[tuple[int, str, str], R.Entry] = {}
        self.notified: set[tuple[int, str, str]] = set()
        self.reversed_notified = 0

    def add(self, pid: int, entries: list[R.Entry]) -> None:
        for entry in entries:
            key = (pid, entry.period, entry.kind)
            assert key not in self.entries, f"{key} would be paid twice"
            if entry.kind == R.REVERSAL and (pid, entry.period, R.CREDIT) in self.notified:
                self.reversed_notified += 1
            self.entries[key] = entry

    def position(self, pid: int) -> R.Position:
        return R.position(e for (p, _, _), e in sorted(self.entries.items()) if p == pid)

    def available(self) -> int:
        sums: dict[str, int] = {}
        for (_, _, kind), entry in self.entries.items():
            sums[kind] = sums.get(kind, 0) + entry.pence
        return R.totals(self.budget, sums).available

    def run(self, op: tuple) -> None:
        name, *args = op
        if name == "reserve":
            (pid,) = args
            if self.position(pid).reserved_pence == 0 and not self.position(pid).closed:
                entry = R.reservation(self.rule, self.available())
                if entry is not None:
                    self.add(pid, [entry])
        elif name == "week":
            pid, week_number, met = args[0], args[1], args[2]
            week = START + timedelta(weeks=week_number)
            period = week.isoformat()
            have = R.WeekEntries(
                frozenset(k for (p, per, k) in self.entries if p == pid and per == period),
                (pid, period, R.CREDIT) in self.notified,
            )
            year = R.cap_year(START, week)
            self.add(pid, R.week_entries(self.rule, week, met, have, self.position(pid), year))
        elif name == "notify":
            (pid,) = args
            self.notified |= {key for key in self.entries if key[0] == pid and key[2] == R.CREDIT}
        elif name == "convert":
            pid, day = args
            year = R.cap_year(START, START + timedelta(days=day))
            self.add(pid, R.conversions(self.rule, self.position(pid), year))
        elif name == "close":
            (pid,) = args
            self.add(pid, R.closing(self.position(pid), 1, "withdrew"))


@hypothesis_settings(max_examples=300, deadline=None)
@given(operations, st.sampled_from([RULE, SMALL_CAP]), st.integers(0, 4))
def test_the_ledger_never_pays_twice_never_exceeds_a_cap_and_always_reconciles(ops, rule, funded):
    """Random weeks (met or not, and re-evaluated: a revision), notifications, conversions,
    withdrawals and reservations for four participants, each step also run again: nothing
    is paid twice, no one goes over a cap, points never go below zero, a notified credit is
    never reversed, and spend + reserved + available = budget with nothing promised twice."""
    ledger = Ledger(rule, budget=funded * rule.reservation_pence)
    last = None
    for op in ops:
        if op[0] == "again":
            if last is None:
                continue
            op = last
        ledger.run(op)
        ledger.run(op)  # a re-run of the same piece of work adds nothing
        last = op
        sums: dict[str, int] = {}
        for (_, _, kind), entry in ledger.entries.items():
            sums[kind] = sums.get(kind, 0) + entry.pence
        totals = R.totals(ledger.budget, sums)
        assert totals.spend + totals.reserved + totals.available == ledger.budget
        assert totals.available >= 0, "the budget was promised twice"
        for pid in range(4):
            pos = ledger.position(pid)
            assert pos.points >= 0
            assert all(v <= rule.yearly_cap_pence for v in pos.converted_by_year.values())
            assert pos.converted_pence <= pos.reserved_pence
            credits = [k for k in ledger.entries if k[0] == pid and k[2] == R.CREDIT]
            assert len(credits) == len(set(credits))
        assert ledger.reversed_notified == 0


def test_a_rerun_of_the_same_work_adds_nothing():
    ledger = Ledger(RULE, budget=RULE.reservation_pence)
    for op in [("reserve", 0), ("week", 0, 0, True), ("week", 0, 1, True), ("convert", 0, 20)]:
        ledger.run(op)
    before = dict(ledger.entries)
    for op in [("reserve", 0), ("week", 0, 0, True), ("week", 0, 1, True), ("convert", 0, 20)]:
        ledger.run(op)
    assert ledger.entries == before
    assert [k[2] for k in before] == [R.RESERVE, R.CREDIT, R.CREDIT, R.CONVERT]


def test_the_yearly_cap_holds_back_conversions_until_the_next_programme_year():
    rule = R.RewardRule(yearly_cap_pence=2000)
    pos = R.Position(reserved_pence=rule.reservation_pence, points=5000)
    first = R.conversions(rule, pos, year=1)
    assert [e.pence for e in first] == [1000, 1000]  # £20 is the cap
    pos = R.position([R.Entry(R.RESERVE, "programme", pence=4000), *first])
    pos = dataclasses.replace(pos, points=3000)
    assert R.conversions(rule, pos, year=1) == []
    assert len(R.conversions(rule, pos, year=2)) == 2


def test_programme_years_count_from_the_start_and_29_february_turns_on_1_march():
    assert R.cap_year(date(2026, 2, 2), date(2027, 2, 1)) == 1
    assert R.cap_year(date(2026, 2, 2), date(2027, 2, 2)) == 2
    assert R.programme_end(RULE, date(2028, 2, 29)) == date(2030, 3, 1)


# --- the nightly batch on a real app database -------------------------------------------

ENROLLED = datetime(2026, 2, 2, 10, tzinfo=UTC)  # a Monday
FIRST_WEEK = date(2026, 2, 16)
NOW = datetime(2026, 6, 1, 3, tzinfo=UTC)


def _enrol(app, identifiable, settings, number: int, *, ready=True) -> str:
    nhs = _nhs(number)
    reference = participants.enrol(
        app, identifiable, Pseudonymiser(settings.pseudonymisation_key),
        Identity(nhs, "Ada", f"Example{number}", date(1958, 6, 1), f"p{number}@example.com"),
        Eligibility(date(1958, 6, 1), True, "Z90001", "apple_watch_iphone", True),
        actor="sam", now=ENROLLED, today=ENROLLED.date(),
    )  # fmt: skip
    if ready:
        participants.record_screen(
            app, reference, dict.fromkeys(SCREEN_CODES, False), actor="sam", now=ENROLLED
        )
        answers = dict.fromkeys(consent.document("2.0").item_ids, True)
        participants.record_consent(
            app, reference, "2.0", answers, actor="sam", now=ENROLLED, today=ENROLLED.date()
        )
    return reference


def _nhs(number: int) -> str:
    """A 999-range NHS number with a valid check digit."""
    base = 999000000 + number
    while True:
        digits = str(base)
        total = sum(int(d) * (10 - i) for i, d in enumerate(digits))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return digits + str(check)
        base += 1


def _days(app, reference: str, start: date, count: int, steps: int, minutes: int = 10) -> None:
    """Days as ingestion leaves them (that path has its own tests): final, version 1."""
    pid = participants.record(app, reference).id
    with Session(app) as session, session.begin():
        for n in range(count):
            session.merge(
                ActivityDay(
                    participant_id=pid, source="healthkit", local_date=start + timedelta(n),
                    steps=steps, light_minutes=60, moderate_minutes=minutes,
                    vigorous_minutes=0, wear_minutes=800, received_at=ENROLLED, version=1,
                    final=True, finalised_at=ENROLLED, revised_after_final=False,
                )
            )  # fmt: skip


@pytest.fixture
def programme(settings):
    upgrade(settings)
    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    participants.load_practices(app, [("Z90001", "Synthetic practice 1")], ENROLLED)
    yield settings, app, identifiable
    app.dispose()
    identifiable.dispose()


def _ledger(app) -> list[tuple]:
    """The ledger without ids and clock times: what two runs must agree on."""
    with Session(app) as session:
        rows = session.execute(
            select(
                RewardEntry.participant_id, RewardEntry.rule, RewardEntry.period,
                RewardEntry.kind, RewardEntry.points, RewardEntry.pence, RewardEntry.cap_year,
                RewardEntry.as_of, RewardEntry.voucher_id.is_not(None),
            )
        ).all()  # fmt: skip
    return sorted(tuple(row) for row in rows)


def _goals(app) -> list[tuple]:
    with Session(app) as session:
        rows = session.execute(
            select(
                GoalWeek.participant_id, GoalWeek.week_start, GoalWeek.readiness,
                GoalWeek.active_minutes, GoalWeek.daily_steps, GoalWeek.met,
            )
        ).all()  # fmt: skip
    return sorted(tuple(row) for row in rows)


def _codes(tmp_path, count=20, start=0):
    path = tmp_path / f"codes-{start}.txt"
    path.write_text("".join(f"TESTCODE-{n:06d}\n" for n in range(start, start + count)))
    return path


def _stock(settings, app, tmp_path, count=20, start=0):
    provider = StockProvider(settings.encryption_key)
    with Session(app) as session, session.begin():
        load_stock(session, provider, _codes(tmp_path, count, start), 1000, actor="t", now=NOW)
    return provider


def _night(app, provider, as_of: date) -> tuple:
    now = datetime.combine(as_of, datetime.min.time(), UTC) + timedelta(hours=3)
    goals = set_goals(app, as_of=as_of, now=now)
    summary = award(app, as_of=as_of, now=now)
    issued = issue_vouchers(app, provider, as_of=as_of, now=now)
    return goals, summary, issued


def test_a_week_met_is_credited_once_converted_and_issued_once(programme, tmp_path):
    settings, app, identifiable = programme
    add_budget(app, 10 * RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    ada = _enrol(app, identifiable, settings, 1)
    bob = _enrol(app, identifiable, settings, 2)
    _days(app, ada, date(2026, 2, 2), 60, steps=9000, minutes=40)  # meets every goal
    _days(app, bob, date(2026, 2, 2), 60, steps=1500, minutes=0)  # meets none
    provider = _stock(settings, app, tmp_path)
    as_of = date(2026, 3, 12)  # weeks of 16 and 23 February are final (7 days after)
    goals, summary, issued = _night(app, provider, as_of)
    assert first_goal_week(ENROLLED.date()) == FIRST_WEEK
    assert goals == 2 * 4  # 16 Feb to the week of 9 March
    assert (summary.weeks_evaluated, summary.credits, summary.conversions) == (4, 2, 1)
    assert issued == (1, 0)
    ledger = _ledger(app)
    ada_id = participants.record(app, ada).id
    assert [(k, p, pence) for pid, _, _, k, p, pence, *_ in ledger if pid == ada_id] == [
        (R.CREDIT, 500, 0),  # week of 16 February
        (R.CREDIT, 500, 0),  # week of 23 February
        (R.RESERVE, 0, 73000),  # at enrolment
        (R.CONVERT, -1000, 1000),  # voucher-1
        (R.ISSUE, 0, 1000),
    ]
    # The same night again, and the next: the same weeks are never paid twice.
    goals, summary, issued = _night(app, provider, as_of)
    assert (goals, summary.weeks_evaluated, summary.credits, summary.conversions) == (0, 0, 0, 0)
    assert issued == (0, 0)
    assert _ledger(app) == ledger
    with Session(app) as session:
        goal = session.get(GoalWeek, (ada_id, FIRST_WEEK))
        assert goal.rule == "mk_weekly_prescription/1" and goal.met is True
        assert goal.inputs["baseline"]["source"] == "run-in"
        # 280 active minutes reach the 280-minute target; 9,000 steps a day fall short
        # of 9,225 (the baseline's 9,000 raised by a twelfth of 30%).
        assert (goal.result["met_on_minutes"], goal.result["met_on_steps"]) == (True, False)
        assert (goal.active_minutes, goal.daily_steps) == (280, 9225)
    result = reconcile(app, now=NOW)
    assert result.ok, result.lines()
    assert result.totals.spend == 1000 and result.totals.issued == 1000


def test_goals_are_set_once_from_what_was_known_the_sunday_before(programme):
    settings, app, identifiable = programme
    ada = _enrol(app, identifiable, settings, 1)
    late = _enrol(app, identifiable, settings, 2, ready=False)
    assert set_goals(app, as_of=date(2026, 2, 18), now=NOW) == 2  # one week each
    assert set_goals(app, as_of=date(2026, 2, 19), now=NOW) == 0
    # Screened and consented on Tuesday 17 February: not ready for the week of the 16th,
    # which stays as it was set; ready from the week of the 23rd.
    at = datetime(2026, 2, 17, 12, tzinfo=UTC)
    participants.record_screen(app, late, dict.fromkeys(SCREEN_CODES, False), actor="s", now=at)
    answers = dict.fromkeys(consent.document("2.0").item_ids, True)
    participants.record_consent(app, late, "2.0", answers, actor="s", now=at, today=at.date())
    assert set_goals(app, as_of=date(2026, 2, 23), now=NOW) == 2
    rows = {(pid, week): (readiness, minutes) for pid, week, readiness, minutes, *_ in _goals(app)}
    late_id, ada_id = participants.record(app, late).id, participants.record(app, ada).id
    assert rows[(late_id, FIRST_WEEK)] == ("not_ready", None)
    assert rows[(late_id, FIRST_WEEK + timedelta(7))][0] == "may_rise"
    # No run-in data: the default 60 minutes, one twelfth of the way to 150.
    assert rows[(ada_id, FIRST_WEEK)] == ("may_rise", 68)


def test_a_clinicians_limits_cap_the_stored_goals_and_vigorous_minutes_count_once(programme):
    """H-008 and H-009 through the batch: a positive screen cleared with limits gives goals
    within them, and a week is judged with vigorous minutes counted once."""
    from mkdeal.activity.programme import Limits

    settings, app, identifiable = programme
    ada = _enrol(app, identifiable, settings, 1, ready=False)
    answers = dict.fromkeys(SCREEN_CODES, False) | {"proliferative_retinopathy": True}
    screen = participants.record_screen(app, ada, answers, actor="sam", now=ENROLLED)
    participants.sign_off(
        app, ada, screen, "cleared_with_limits",
        Limits(max_weekly_active_minutes=90, max_daily_steps=7000, no_vigorous=True),
        actor="dr", now=ENROLLED,
    )  # fmt: skip
    choices = dict.fromkeys(consent.document("2.0").item_ids, True)
    participants.record_consent(
        app, ada, "2.0", choices, actor="sam", now=ENROLLED, today=ENROLLED.date()
    )
    pid = participants.record(app, ada).id
    with Session(app) as session, session.begin():
        for n in range(60):
            session.add(
                ActivityDay(
                    participant_id=pid, source="healthkit",
                    local_date=date(2026, 2, 2) + timedelta(n),
                    steps=12000, light_minutes=60, moderate_minutes=5, vigorous_minutes=10,
                    wear_minutes=800, received_at=ENROLLED, version=1, final=True,
                    finalised_at=ENROLLED, revised_after_final=False,
                )
            )  # fmt: skip
    set_goals(app, as_of=date(2026, 3, 26), now=NOW)
    award(app, as_of=date(2026, 3, 26), now=NOW)
    with Session(app) as session:
        goals = list(session.scalars(select(GoalWeek).where(GoalWeek.participant_id == pid)))
    assert goals and all(g.active_minutes <= 90 and g.daily_steps <= 7000 for g in goals)
    assert goals[0].inputs["limits"]["no_vigorous"] is True
    judged = [g for g in goals if g.result]
    # 5 moderate + 10 vigorous a day: 105 a week counted once, not 175 counted double.
    assert judged and all(g.result["active_minutes"] == 105 for g in judged)


def test_a_revision_reverses_an_unseen_credit_and_only_records_a_seen_one(programme, tmp_path):
    settings, app, identifiable = programme
    add_budget(app, 10 * RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    ada, bob = _enrol(app, identifiable, settings, 1), _enrol(app, identifiable, settings, 2)
    for who in (ada, bob):
        _days(app, who, date(2026, 2, 2), 21, steps=8000, minutes=40)
    provider = _stock(settings, app, tmp_path)
    _night(app, provider, date(2026, 3, 2))  # the week of 16 February is final and met
    ada_id, bob_id = participants.record(app, ada).id, participants.record(app, bob).id
    assert notify(app, ada_id, now=NOW) == 1  # Ada saw her points in the app
    revised_at = datetime(2026, 3, 2, 20, tzinfo=UTC)  # after that night's batch
    with Session(app) as session, session.begin():
        session.execute(
            update(ActivityDay)
            .where(ActivityDay.local_date >= FIRST_WEEK, ActivityDay.local_date < date(2026, 2, 23))
            .values(
                steps=1000, moderate_minutes=0, revised_after_final=True, received_at=revised_at
            )
        )
    summary = _night(app, provider, date(2026, 3, 3))[1]
    assert (summary.reversals, summary.revisions) == (1, 1)
    kinds = {(pid, kind) for pid, _, period, kind, *_ in _ledger(app) if period == "2026-02-16"}
    assert kinds == {
        (ada_id, R.CREDIT), (ada_id, R.REVISION), (bob_id, R.CREDIT), (bob_id, R.REVERSAL),
    }  # fmt: skip
    assert _night(app, provider, date(2026, 3, 4))[1].weeks_evaluated == 0
    assert reconcile(app, now=NOW).ok


def test_withdrawal_releases_the_reservation_and_points_left_expire(programme, tmp_path):
    settings, app, identifiable = programme
    add_budget(app, RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    ada = _enrol(app, identifiable, settings, 1)
    _days(app, ada, date(2026, 2, 2), 21, steps=8000, minutes=40)
    provider = _stock(settings, app, tmp_path)
    _night(app, provider, date(2026, 3, 2))
    participants.withdraw(
        app, ada, "programme", "Moved away", actor="sam", now=datetime(2026, 3, 5, tzinfo=UTC)
    )
    summary = _night(app, provider, date(2026, 3, 6))[1]
    assert summary.closed == 1
    ledger = {(kind, points, pence) for *_, kind, points, pence, _, _, _ in _ledger(app)}
    assert (R.EXPIRE, -500, 0) in ledger and (R.RELEASE, 0, RULE.reservation_pence) in ledger
    result = reconcile(app, now=NOW)
    assert result.ok and result.totals.available == RULE.reservation_pence
    assert _night(app, provider, date(2026, 3, 7))[1].closed == 0
    # H-011: no goal is set for any week after the withdrawal.
    assert set_goals(app, as_of=date(2026, 4, 20), now=NOW) == 0
    assert max(week for _, week, *_ in _goals(app)) == date(2026, 3, 2)


def test_participants_wait_for_budget_and_are_reserved_in_order_once_it_comes(programme):
    settings, app, identifiable = programme
    add_budget(app, RULE.reservation_pence, "Not enough for two", actor="t", now=ENROLLED)
    ada = _enrol(app, identifiable, settings, 1)  # reserved at enrolment
    bob = _enrol(app, identifiable, settings, 2)  # the budget cannot cover him yet
    summary = award(app, as_of=date(2026, 2, 3), now=NOW)
    assert (summary.reserved, summary.waiting_for_budget) == (0, 1)
    add_budget(app, RULE.reservation_pence, "More funding", actor="t", now=NOW)
    assert award(app, as_of=date(2026, 2, 4), now=NOW).reserved == 1
    reserves = [pid for pid, _, _, kind, *_ in _ledger(app) if kind == R.RESERVE]
    assert sorted(reserves) == sorted(participants.record(app, r).id for r in (ada, bob))
    assert reconcile(app, now=NOW).totals.available == 0


def test_voucher_codes_are_encrypted_loaded_once_and_issued_once(programme, tmp_path):
    settings, app, _ = programme
    provider = StockProvider(settings.encryption_key)
    path = _codes(tmp_path, 3)
    path.write_text(path.read_text() + "not a code!\nTESTCODE-000001\n")
    with Session(app) as session, session.begin():
        first = load_stock(session, provider, path, 1000, actor="t", now=NOW)
    assert (first.loaded, first.already_loaded) == (3, 0)
    assert [p.split(":")[0] for p in first.rejected] == [
        path.name + ", line 4",
        path.name + ", line 5",
    ]
    assert "same code as line 2" in first.rejected[1]
    with Session(app) as session, session.begin():
        again = load_stock(session, provider, path, 1000, actor="t", now=NOW)
        assert (again.loaded, again.already_loaded) == (0, 3)
        stored = [row.code_encrypted for row in session.scalars(select(VoucherStock))]
        assert all("TESTCODE" not in text for text in stored)
        taken = provider.take(session, [1000, 1000, 500], NOW)
        assert taken[2] is None and len(set(taken[:2])) == 2
        assert provider.reveal(session, taken[0]) == "TESTCODE-000000"
        assert provider.take(session, [1000, 1000], NOW) == [taken[0] + 2, None]
    other = StockProvider(b"another-encryption-key-0123456789abcdef")
    with Session(app) as session, pytest.raises(Exception, match="cannot be decrypted"):
        other.reveal(session, taken[0])


def test_conversions_wait_for_stock_and_are_issued_when_it_comes(programme, tmp_path):
    settings, app, identifiable = programme
    add_budget(app, RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    ada = _enrol(app, identifiable, settings, 1)
    _days(app, ada, date(2026, 2, 2), 60, steps=9000, minutes=40)
    provider = _stock(settings, app, tmp_path, count=1)
    assert _night(app, provider, date(2026, 3, 26))[2] == (1, 1)  # two vouchers, one code
    _stock(settings, app, tmp_path, count=5, start=100)
    assert issue_vouchers(app, provider, as_of=date(2026, 3, 27), now=NOW) == (1, 0)
    assert reconcile(app, now=NOW).ok


def test_a_batch_killed_half_way_and_run_again_ends_as_one_clean_run(
    programme, tmp_path, monkeypatch
):
    """The award is one transaction: killed after writing part of its entries, nothing of
    it stays, and the next run does it all, as a clean run does."""
    import shutil

    from mkdeal.activity import nightly

    settings, app, identifiable = programme
    add_budget(app, 10 * RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    for number in range(1, 4):
        _days(app, _enrol(app, identifiable, settings, number), date(2026, 2, 2), 60, 9000, 40)
    provider = _stock(settings, app, tmp_path)
    app.dispose()
    database = settings.data_dir / "app.sqlite3"
    clean_copy = tmp_path / "clean.sqlite3"
    shutil.copy(database, clean_copy)
    as_of = date(2026, 3, 26)

    real = nightly._bulk_insert
    calls = {"n": 0}

    def dies_half_way(session, model, rows, ignore_existing=False):
        real(session, model, rows[: len(rows) // 2], ignore_existing)
        calls["n"] += 1
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(nightly, "_bulk_insert", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        set_goals(app, as_of=as_of, now=NOW)
    monkeypatch.setattr(nightly, "_bulk_insert", real)
    set_goals(app, as_of=as_of, now=NOW)
    monkeypatch.setattr(nightly, "_bulk_insert", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        award(app, as_of=as_of, now=NOW)
    assert _ledger(app) == [row for row in _ledger(app) if row[3] == R.RESERVE]
    monkeypatch.setattr(nightly, "_bulk_insert", real)
    _night(app, provider, as_of)
    killed = (_goals(app), _ledger(app))

    clean = open_app_database(
        dataclasses.replace(settings, app_database_url=f"sqlite:///{clean_copy}")
    )
    try:
        _night(clean, provider, as_of)
        assert (_goals(clean), _ledger(clean)) == killed
    finally:
        clean.dispose()
    assert calls["n"] == 2 and len(killed[1]) > 3


def test_reconcile_exits_non_zero_on_a_break(programme, tmp_path, cli_env, monkeypatch):
    """The command on a clean ledger, then on one with a code issued twice over."""
    from mkdeal.cli import cli

    settings, app, identifiable = programme
    monkeypatch.setenv("MKDEAL_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["programme", "budget", "add", "£1,460", "--note", "Test"]).exit_code
        == 0
    )
    ada = _enrol(app, identifiable, settings, 1)
    _days(app, ada, date(2026, 2, 2), 60, steps=9000, minutes=40)
    codes = _codes(tmp_path, 5)
    loaded = runner.invoke(cli, ["programme", "vouchers", "load", str(codes), "--value", "10"])
    assert "5 voucher codes loaded" in loaded.output
    _night(app, StockProvider(settings.encryption_key), date(2026, 3, 26))
    good = runner.invoke(cli, ["programme", "reconcile"])
    assert good.exit_code == 0, good.output
    assert good.output.startswith("Budget") and "£1,460.00" in good.output
    assert "Reconciled: every check holds." in good.output
    with Session(app) as session, session.begin():
        entry = session.scalars(select(RewardEntry).where(RewardEntry.kind == R.ISSUE)).first()
        session.add(
            RewardEntry(
                participant_id=entry.participant_id, rule=entry.rule, period="voucher-99",
                kind=R.ISSUE, points=0, pence=1000, cap_year=1, as_of=entry.as_of,
                voucher_id=None, detail={}, created_at=NOW,
            )
        )  # fmt: skip
    broken = runner.invoke(cli, ["programme", "reconcile", "--format", "json"])
    assert broken.exit_code == 1
    assert '"ok": false' in broken.output


# --- PostgreSQL: two batches at once ------------------------------------------------------


@pytest.mark.postgres
def test_two_batches_at_once_on_postgres_make_one_set_of_entries(
    settings, new_postgres_url, tmp_path
):
    """award() and issue_vouchers() called twice at the same moment, directly (not through
    run-due, whose lock would hide a fault): exactly the entries of one run."""
    settings = dataclasses.replace(
        settings, app_database_url=new_postgres_url(), identifiable_store_url=new_postgres_url()
    )
    upgrade(settings)
    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    try:
        participants.load_practices(app, [("Z90001", "Synthetic practice 1")], ENROLLED)
        add_budget(app, 20 * RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
        for number in range(1, 9):
            ref = _enrol(app, identifiable, settings, number)
            _days(app, ref, date(2026, 2, 2), 60, steps=9000 if number % 2 else 3000, minutes=40)
        provider = _stock(settings, app, tmp_path, count=40)
        as_of = date(2026, 3, 26)
        set_goals(app, as_of=as_of, now=NOW)
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def run(step):
            try:
                barrier.wait()
                step()
            except BaseException as error:
                errors.append(error)

        for step in (
            lambda: award(app, as_of=as_of, now=NOW),
            lambda: issue_vouchers(app, provider, as_of=as_of, now=NOW),
        ):
            threads = [threading.Thread(target=run, args=(step,)) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert errors == []
        entries = _ledger(app)
        keys = [row[:4] for row in entries]
        assert len(keys) == len(set(keys))
        kinds = [row[3] for row in entries]
        assert kinds.count(R.CONVERT) == kinds.count(R.ISSUE) > 0
        with Session(app) as session:
            issued = session.scalar(select(func.count()).where(VoucherStock.issued_at.is_not(None)))
        assert issued == kinds.count(R.ISSUE)
        # One run more changes nothing: the concurrent pair did exactly one run's work.
        award(app, as_of=as_of, now=NOW)
        assert _ledger(app) == entries
        assert reconcile(app, now=NOW).ok
    finally:
        app.dispose()
        identifiable.dispose()


# --- the real batch over random histories --------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Four ready participants with ten weeks of days, on an SQLite file to copy."""
    from mkdeal.settings import load_settings

    from .conftest import TEST_KEYS

    folder = tmp_path_factory.mktemp("rewards-template")
    settings = load_settings({"MKDEAL_DATA_DIR": str(folder / "data"), **TEST_KEYS}, cwd=folder)
    upgrade(settings)
    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    participants.load_practices(app, [("Z90001", "Synthetic practice 1")], ENROLLED)
    add_budget(app, 3 * RULE.reservation_pence, "Three of four", actor="t", now=ENROLLED)
    for number, steps in zip(range(1, 5), (9000, 6000, 3000, 12000), strict=True):
        _days(app, _enrol(app, identifiable, settings, number), date(2026, 2, 2), 90, steps, 30)
    app.dispose()
    identifiable.dispose()
    return settings


history = st.lists(
    st.one_of(
        st.tuples(st.just("night"), st.integers(1, 6)),
        st.tuples(st.just("revise"), st.integers(1, 4), st.integers(0, 9), st.integers(0, 12000)),
        st.tuples(st.just("notify"), st.integers(1, 4)),
        st.tuples(st.just("withdraw"), st.integers(1, 4)),
        st.tuples(st.just("stock"), st.integers(1, 8)),
        st.tuples(
            st.just("budget"),
        ),
        st.tuples(
            st.just("again"),
        ),
    ),
    min_size=3,
    max_size=12,
)


@hypothesis_settings(max_examples=20, deadline=None)
@given(history)
def test_the_batch_over_random_nights_revisions_and_withdrawals_always_reconciles(
    template, tmp_path_factory, ops
):
    """The real steps on SQLite: random nights (run twice each), revisions after final,
    notifications, withdrawals, stock and budget arriving late. After every step the
    reconciliation holds and no key has two entries."""
    import shutil

    folder = tmp_path_factory.mktemp("rewards-run")
    shutil.copy(template.data_dir / "app.sqlite3", folder / "app.sqlite3")
    app = open_app_database(
        dataclasses.replace(template, app_database_url=f"sqlite:///{folder / 'app.sqlite3'}")
    )
    provider = StockProvider(template.encryption_key)
    as_of, last, stocked = date(2026, 3, 1), None, 0
    try:
        for op in ops:
            op = last if op[0] == "again" and last else op
            if op[0] == "night":
                as_of += timedelta(days=op[1])
                first = _ledger(app)
                _night(app, provider, as_of)
                after = _ledger(app)
                _night(app, provider, as_of)  # the same night again adds nothing
                assert _ledger(app) == after and len(after) >= len(first)
            elif op[0] == "revise":
                _, pid, week, steps = op
                day = FIRST_WEEK + timedelta(weeks=week)
                at = datetime.combine(as_of, datetime.min.time(), UTC)
                with Session(app) as session, session.begin():
                    session.execute(
                        update(ActivityDay)
                        .where(ActivityDay.participant_id == pid, ActivityDay.local_date == day)
                        .values(steps=steps, revised_after_final=True, received_at=at)
                    )
            elif op[0] == "notify":
                notify(app, op[1], now=NOW)
            elif op[0] == "withdraw":
                reference = f"AMK-{op[1]:05d}"
                at = datetime.combine(as_of, datetime.min.time(), UTC) + timedelta(hours=12)
                participants.withdraw(app, reference, "programme", "Test", actor="t", now=at)
            elif op[0] == "stock":
                with Session(app) as session, session.begin():
                    path = _codes(folder, op[1], start=stocked)
                    load_stock(session, provider, path, 1000, actor="t", now=NOW)
                stocked += op[1]
            elif op[0] == "budget":
                add_budget(app, RULE.reservation_pence, "More", actor="t", now=NOW)
            last = op
            result = reconcile(app, now=NOW)
            assert result.ok, result.lines()
    finally:
        app.dispose()


def test_run_due_runs_goals_rewards_and_vouchers_in_order_then_nothing_is_due(
    programme, tmp_path, capsys, monkeypatch
):
    from mkdeal.cli import main
    from mkdeal.scheduling import default_registry

    from .conftest import TEST_KEYS

    settings, app, identifiable = programme
    for name, value in {"MKDEAL_DATA_DIR": str(settings.data_dir), **TEST_KEYS}.items():
        monkeypatch.setenv(name, value)
    names = [step.name for step in default_registry().ordered()]
    assert names.index("finalise-activity-days") < names.index("set-goals")
    assert names.index("set-goals") < names.index("award-rewards") < names.index("issue-vouchers")
    add_budget(app, RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    _days(app, _enrol(app, identifiable, settings, 1), date(2026, 2, 2), 60, 9000, 40)
    _stock(settings, app, tmp_path, count=3)
    assert main(["--as-of", "2026-03-26", "run-due"]) == 0
    out = capsys.readouterr().out
    assert "set-goals [2026-03-26] succeeded: 6 participant-weeks set." in out
    assert "4 weeks evaluated: 4 credited" in out
    assert "2 vouchers issued." in out
    assert main(["--as-of", "2026-03-26", "run-due", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for step in ("set-goals", "award-rewards", "issue-vouchers"):
        assert f"{step}: nothing due" in out


def test_withdrawing_data_deletes_goal_weeks_and_keeps_the_ledger(programme, tmp_path):
    from mkdeal.activity.ingest import delete_withdrawn_data

    settings, app, identifiable = programme
    add_budget(app, RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    ada = _enrol(app, identifiable, settings, 1)
    _days(app, ada, date(2026, 2, 2), 60, 9000, 40)
    _night(app, _stock(settings, app, tmp_path), date(2026, 3, 26))
    ledger = _ledger(app)
    participants.withdraw(
        app, ada, "data", "Please delete", actor="sam", now=datetime(2026, 3, 27, tzinfo=UTC)
    )
    pid = participants.record(app, ada).id
    record = delete_withdrawn_data(app, settings.data_dir, pid, now=NOW)
    assert (record.days, record.goal_weeks) == (60, 6)
    assert _goals(app) == []
    assert _ledger(app) == ledger  # vouchers issued stay, for financial audit


KILLED_AWARD = """
import os, signal, sys
from datetime import UTC, date, datetime
from mkdeal.activity import nightly
from mkdeal.db import make_engine

real = nightly._bulk_insert

def dies(session, model, rows, ignore_existing=False):
    real(session, model, rows[: len(rows) // 2], ignore_existing)
    session.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # no rollback, no clean-up: as a power cut

nightly._bulk_insert = dies
nightly.award(make_engine(sys.argv[1]), as_of=date(2026, 3, 26),
              now=datetime(2026, 6, 1, 3, tzinfo=UTC))
"""


def test_a_process_killed_mid_award_leaves_nothing_and_the_rerun_equals_a_clean_run(
    programme, tmp_path
):
    """SIGKILL half-way through writing the award's entries, in a process of its own: the
    database keeps nothing of it, and running it again gives what one clean run gives."""
    import shutil
    import signal
    import subprocess
    import sys

    settings, app, identifiable = programme
    add_budget(app, 10 * RULE.reservation_pence, "Test funding", actor="t", now=ENROLLED)
    for number in range(1, 4):
        _days(app, _enrol(app, identifiable, settings, number), date(2026, 2, 2), 60, 9000, 40)
    as_of = date(2026, 3, 26)
    set_goals(app, as_of=as_of, now=NOW)
    app.dispose()
    clean_copy = tmp_path / "clean.sqlite3"
    shutil.copy(settings.data_dir / "app.sqlite3", clean_copy)
    before = _ledger(app)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AWARD, settings.app_database_url], capture_output=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert _ledger(app) == before  # nothing of the killed transaction stayed
    award(app, as_of=as_of, now=NOW)
    clean = open_app_database(
        dataclasses.replace(settings, app_database_url=f"sqlite:///{clean_copy}")
    )
    try:
        award(clean, as_of=as_of, now=NOW)
        assert _ledger(clean) == _ledger(app) != before
    finally:
        clean.dispose()


def test_budget_add_once_and_synthetic_codes_through_the_cli(cli_env, tmp_path):
    from mkdeal.cli import cli

    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    add = ["programme", "budget", "add", "£2,500.50", "--note", "Grant", "--once"]
    first, again = runner.invoke(cli, add), runner.invoke(cli, add)
    assert "Added £2,500.50 to the reward budget; it is now £2,500.50." in first.output
    assert "was added before; nothing changed" in again.output
    bad = runner.invoke(cli, ["programme", "budget", "add", "ten", "--note", "x"])
    assert bad.exit_code != 0 and "not an amount in pounds" in str(bad.exception)
    codes = tmp_path / "new" / "codes.txt"
    made = runner.invoke(cli, ["programme", "vouchers", "synth", str(codes), "--count", "25"])
    assert made.exit_code == 0 and len(codes.read_text().split()) == 25
    loaded = runner.invoke(cli, ["programme", "vouchers", "load", str(codes), "--value", "10"])
    assert "25 voucher codes loaded" in loaded.output
    assert "Codes worth £10.00 in stock: 25." in loaded.output
    again = runner.invoke(cli, ["programme", "vouchers", "load", str(codes), "--value", "10"])
    assert "0 voucher codes loaded, 25 already loaded" in again.output
