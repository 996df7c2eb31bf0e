"""Active MK goals and rewards through HTTP: the participant's own page (/me) and a
voucher's code, the staff rewards page with its reconciliation, a participant's goals and
ledger for staff, and the low-stock warning.

The data is made by the real functions (enrolment, the nightly goals, awards and voucher
issue, a budget and loaded codes); only the canonical days are written directly, as
ingestion leaves them (that path has its own tests), and a goal week or ledger row where a
test needs a state the batch would take weeks to reach.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mkdeal.access import accounts
from mkdeal.activity import consent, nightly, participants
from mkdeal.activity import rewards as R
from mkdeal.activity.nightly import add_budget, award, issue_vouchers, set_goals
from mkdeal.activity.participants import Identity
from mkdeal.activity.programme import SCREEN_CODES, Eligibility
from mkdeal.activity.vouchers import LOW_STOCK_MINIMUM, StockProvider, load_stock, low_stock
from mkdeal.appdb.models import (
    ActivityDay,
    AuditEvent,
    GoalWeek,
    RewardEntry,
    RewardNotification,
    VoucherStock,
)
from mkdeal.people import Pseudonymiser

from .test_web import CHEAP, PASSWORD, client, csrf, sign_in, web  # noqa: F401 (web: fixture)

STAFF = "r-programme-staff"
PRACTICE = ("Z90001", "Synthetic Practice One")
TODAY = date(2026, 3, 31)  # the web fixture's clock: 09:00 UTC on Tuesday 31 March 2026
ENROLLED = datetime(2026, 2, 2, 10, tzinfo=UTC)  # a Monday; consent 2.0 is in force
NHS_NUMBERS = ("9990000018", "9990000026", "9990000034")


def _enrol(app, number: int, at: datetime, *, ready: bool = True) -> str:
    nhs = NHS_NUMBERS[number]
    born = date(1958, 6, 1)
    reference = participants.enrol(
        app.state.engine, app.state.identifiable,
        Pseudonymiser(app.state.settings.pseudonymisation_key),
        Identity(nhs, "Ada", f"Example{number}", born, f"p{number}@example.com"),
        Eligibility(born, True, PRACTICE[0], "apple_watch_iphone", True),
        actor="sam", now=at, today=at.date(),
    )  # fmt: skip
    if ready:
        engine = app.state.engine
        participants.record_screen(
            engine, reference, dict.fromkeys(SCREEN_CODES, False), actor="sam", now=at
        )
        document = consent.in_force(at.date())
        participants.record_consent(
            engine, reference, document.version, dict.fromkeys(document.item_ids, True),
            actor="sam", now=at, today=at.date(),
        )  # fmt: skip
    return reference


def _days(engine, reference: str, days: list[date], steps: int = 6000, minutes: int = 25):
    """Final canonical days, as ingestion leaves them."""
    pid = participants.record(engine, reference).id
    with Session(engine) as session, session.begin():
        for day in days:
            session.merge(
                ActivityDay(
                    participant_id=pid, source="healthkit", local_date=day, steps=steps,
                    light_minutes=60, moderate_minutes=minutes, vigorous_minutes=0,
                    wear_minutes=800, received_at=ENROLLED, version=1, final=True,
                    finalised_at=ENROLLED, revised_after_final=False,
                )
            )  # fmt: skip


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def _codes(folder, name: str, count: int, start: int = 0):
    path = folder / name
    path.write_text("".join(f"TESTCODE-{n:06d}\n" for n in range(start, start + count)))
    return path


def _load(app, path, pence: int = 1000) -> None:
    provider = StockProvider(app.state.settings.encryption_key)
    with Session(app.state.engine) as session, session.begin():
        load_stock(session, provider, path, pence, actor="test", now=app.state.now())


def _participant_user(app, username: str, reference: str) -> None:
    engine = app.state.engine
    accounts.add_user(
        engine, username, f"Participant {username}", PASSWORD, organisations=["RD8"],
        roles=["participant"], actor="test", hasher=CHEAP,
    )  # fmt: skip
    participants.link_account(engine, reference, username, actor="test", now=app.state.now())


@pytest.fixture
def rewards(web, tmp_path):  # noqa: F811 (the fixture imported above)
    """Three participants on 31 March 2026, after the night's batch:

    - A (pat) is ready since 2 February and wore the device every day to 30 March: five
      weeks counted and met, 2,500 points, two £10 vouchers issued, 500 points left;
    - B (pip) likewise to 22 March, then two days only: this week's goal holds; two
      vouchers earned, one code left for them, so one waits;
    - C (cy) enrolled on 25 March, not yet screened, and waits for budget (£2,000 covers
      two reservations of £730).
    """
    app, engine, clock = web
    participants.load_practices(engine, [PRACTICE], clock.now)
    a = _enrol(app, 0, ENROLLED)
    b = _enrol(app, 1, ENROLLED + timedelta(hours=1))
    c = _enrol(app, 2, datetime(2026, 3, 25, 10, tzinfo=UTC), ready=False)
    _days(engine, a, _span(date(2026, 2, 2), date(2026, 3, 30)))
    _days(engine, b, _span(date(2026, 2, 2), date(2026, 3, 22)))
    _days(engine, b, [date(2026, 3, 23), date(2026, 3, 24)])
    add_budget(engine, 200_000, "Test funding", actor="test", now=clock.now)
    _load(app, _codes(tmp_path, "codes.txt", 3))
    set_goals(engine, as_of=TODAY, now=clock.now)
    award(engine, as_of=TODAY, now=clock.now)
    provider = StockProvider(app.state.settings.encryption_key)
    assert issue_vouchers(engine, provider, as_of=TODAY, now=clock.now) == (3, 1)
    _participant_user(app, "pat", a)
    _participant_user(app, "pip", b)
    _participant_user(app, "cy", c)
    ids = {ref: participants.record(engine, ref).id for ref in (a, b, c)}
    return SimpleNamespace(
        app=app, engine=engine, clock=clock, a=a, b=b, c=c, ids=ids, provider=provider,
        folder=tmp_path,
    )  # fmt: skip


def _signed_in(app, username: str):
    c = client(app)
    assert sign_in(c, username).status_code == 303
    return c


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").strip()


def _entries(engine, pid: int, kind: str) -> list[RewardEntry]:
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(RewardEntry)
                .where(RewardEntry.participant_id == pid, RewardEntry.kind == kind)
                .order_by(RewardEntry.id)
            )
        )
        session.expunge_all()
    return rows


def _show_code(c, entry_id: int):
    token = csrf(c.get("/me").text)
    return c.post(f"/me/vouchers/{entry_id}", data={"csrf_token": token})


# --- the participant's page ---------------------------------------------------------------


def test_participant_sees_this_weeks_goal_progress_points_weeks_and_vouchers(rewards):
    c = _signed_in(rewards.app, "pat")

    response = c.get("/me")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    text = _text(response.text)
    # Plan week 7 of 12: 6,000 steps rising by 30% in even steps, minutes at 175 (the
    # baseline, already above 150).
    assert (
        "This week, from Monday 30 March: 175 active minutes (vigorous minutes count "
        "double), or an average of 7,050 steps a day on the days you wear your device."
    ) in text
    assert "Active minutes 25 of 175" in text
    assert "Average steps a day 6,000, for a goal of 7,050" in text
    assert "Days your device recorded in full 1 of the 2 days so far" in text
    assert "You have 500 points . 500 more and you get a £10.00 voucher." in text
    # Five weeks counted (16 February to 16 March), each met for 500 points.
    weeks = re.findall(r"<tr class=\"nhsuk-table__row\">\s*<td class=\"nhsuk-table__cell\">"
                       r"(Monday \d+ \w+)</td>", response.text)  # fmt: skip
    assert weeks == [
        "Monday 16 March", "Monday 9 March", "Monday 2 March", "Monday 23 February",
        "Monday 16 February",
    ]  # fmt: skip
    assert "175 active minutes; 6,000 steps a day over 7 days" in text
    issued = _entries(rewards.engine, rewards.ids[rewards.a], R.ISSUE)
    assert len(issued) == 2
    assert text.count("Show code") == 2
    assert "on its way" not in text
    # Nothing of anyone else, nothing identifying beyond their own reference.
    for other in (rewards.b, rewards.c, "Example0", "p0@example.com", "9990000018"):
        assert other not in response.text
    assert "Your goals and rewards" in response.text  # the navigation link


def test_a_held_goal_says_why_and_a_waiting_voucher_is_on_its_way(rewards):
    text = _text(_signed_in(rewards.app, "pip").get("/me").text)

    # The goal of the week before (plan week 6), kept.
    assert (
        "This week, from Monday 30 March: 175 active minutes (vigorous minutes count "
        "double), or an average of 6,900 steps a day on the days you wear your device."
    ) in text
    assert "Your goal stays the same this week, because:" in text
    assert (
        "Your device recorded 2 full days last week; your goal moves on after a week with "
        "at least 4."
    ) in text
    assert "Your £10.00 voucher is on its way: its code will be here soon." in text
    assert text.count("Show code") == 1


def test_a_reversed_week_says_its_points_were_taken_back(rewards):
    # What the batch writes when revised data show an unseen credit's week was not met.
    with Session(rewards.engine) as session, session.begin():
        session.add(
            RewardEntry(
                participant_id=rewards.ids[rewards.a], rule=R.RewardRule().name,
                period="2026-03-16", kind=R.REVERSAL, points=-500, pence=0, cap_year=1,
                as_of=TODAY, voucher_id=None, detail={}, created_at=rewards.clock.now,
            )
        )  # fmt: skip

    text = _text(_signed_in(rewards.app, "pat").get("/me").text)

    assert (
        "Monday 16 March 175 active minutes or 6,750 steps a day 175 active minutes; 6,000 "
        "steps a day over 7 days Yes 500, taken back: later data showed the goal was not met"
    ) in text
    assert "You have 0 points . 1,000 more and you get a £10.00 voucher." in text


def test_goals_start_after_the_run_in_and_a_week_without_a_goal_says_why(rewards):
    c = _signed_in(rewards.app, "cy")
    text = _text(c.get("/me").text)
    assert "Your weekly goals start on Monday 13 April." in text
    assert "You have 0 points" in text and "You have no vouchers yet." in text

    with Session(rewards.engine) as session, session.begin():
        session.add(
            GoalWeek(
                participant_id=rewards.ids[rewards.c], week_start=date(2026, 3, 30),
                rule="mk_weekly_prescription/1", readiness="not_ready", held=False,
                inputs={"reasons": ["The exercise-safety screen has not been done."]},
                computed_at=rewards.clock.now,
            )
        )  # fmt: skip
    text = _text(c.get("/me").text)
    assert "There is no goal for you this week, from Monday 30 March, because:" in text
    assert "The exercise-safety screen has not been done." in text
    assert "Your week so far" not in text


def test_after_withdrawal_no_goal_is_set_rewards_end_and_vouchers_stay(rewards):
    engine, clock = rewards.engine, rewards.clock
    participants.withdraw(engine, rewards.a, "programme", "Moving away", actor="sam", now=clock.now)
    with Session(engine) as session, session.begin():  # this week's goal was set before
        session.delete(session.get(GoalWeek, (rewards.ids[rewards.a], date(2026, 3, 30))))
    set_goals(engine, as_of=TODAY, now=clock.now)
    award(engine, as_of=TODAY, now=clock.now)

    text = _text(_signed_in(rewards.app, "pat").get("/me").text)

    assert "You have left the programme, so no more weekly goals are set." in text
    assert "Your rewards have ended, so no more points are earned." in text
    assert text.count("Show code") == 2


def test_a_participant_sees_only_their_own_voucher_code_and_the_view_is_audited(rewards, caplog):
    pat = _signed_in(rewards.app, "pat")
    mine = _entries(rewards.engine, rewards.ids[rewards.a], R.ISSUE)[0]
    theirs = _entries(rewards.engine, rewards.ids[rewards.b], R.ISSUE)[0]
    conversion = _entries(rewards.engine, rewards.ids[rewards.a], R.CONVERT)[0]
    with Session(rewards.engine) as session:
        code = rewards.provider.reveal(session, mine.voucher_id)
        other_code = rewards.provider.reveal(session, theirs.voucher_id)

    with caplog.at_level(logging.DEBUG):
        shown = _show_code(pat, mine.id)

    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert code in shown.text and other_code not in shown.text
    assert "Your £10.00 voucher" in shown.text
    assert code not in caplog.text
    with Session(rewards.engine) as session:
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "programme.voucher_view"))
        )
    assert [(e.actor, e.target, json.loads(e.detail)) for e in events] == [
        ("pat", rewards.a, {"entry": mine.id})
    ]
    assert events[0].request_id == shown.headers["x-request-id"]
    with Session(rewards.engine) as session:
        details = " ".join(d or "" for d in session.scalars(select(AuditEvent.detail)))
    assert code not in details and other_code not in details

    # Another participant's voucher, a conversion (no code) and no entry at all: not found,
    # and nothing audited.
    for entry_id in (theirs.id, conversion.id, 999_999, 2**70):
        refused = _show_code(pat, entry_id)
        assert refused.status_code == 404, entry_id
        assert other_code not in refused.text
    with Session(rewards.engine) as session:
        count = session.scalar(
            select(func.count()).where(AuditEvent.action == "programme.voucher_view")
        )
    assert count == 1
    # The form needs its CSRF token, like every other.
    assert pat.post(f"/me/vouchers/{mine.id}").status_code == 403


def test_opening_the_page_marks_what_it_shows_as_notified(rewards):
    a, b = rewards.ids[rewards.a], rewards.ids[rewards.b]

    def notified(pid: int) -> set[str]:
        with Session(rewards.engine) as session:
            return set(
                session.scalars(
                    select(RewardEntry.kind)
                    .join(RewardNotification, RewardNotification.entry_id == RewardEntry.id)
                    .where(RewardEntry.participant_id == pid)
                )
            )

    assert notified(a) == set()
    rewards.clock.now += timedelta(minutes=5)
    _signed_in(rewards.app, "pat").get("/me")

    assert notified(a) == {R.CREDIT, R.CONVERT, R.ISSUE}
    assert notified(b) == set()
    with Session(rewards.engine) as session:
        times = set(session.scalars(select(RewardNotification.notified_at)))
        channels = set(session.scalars(select(RewardNotification.channel)))
    assert times == {rewards.clock.now} and channels == {"app"}


def test_a_participant_sign_in_not_linked_gets_a_page_that_says_so(rewards):
    response = _signed_in(rewards.app, "r-participant").get("/me")
    assert response.status_code == 200
    text = _text(response.text)
    assert "Your sign-in is not linked to Active MK" in text
    assert "Ask the Active MK programme team to link your sign-in." in text
    assert response.headers["cache-control"] == "no-store"


def test_staff_cannot_open_a_participants_page_or_their_codes(rewards):
    staff = _signed_in(rewards.app, STAFF)
    entry = _entries(rewards.engine, rewards.ids[rewards.a], R.ISSUE)[0]
    assert staff.get("/me").status_code == 403
    token = csrf(staff.get("/programme").text)
    assert staff.post(f"/me/vouchers/{entry.id}", data={"csrf_token": token}).status_code == 403


# --- the staff pages ----------------------------------------------------------------------


def test_staff_rewards_page_shows_the_reconciliation_stock_and_who_waits(rewards):
    staff = _signed_in(rewards.app, STAFF)

    response = staff.get("/programme/rewards")

    assert response.status_code == 200
    text = _text(response.text)
    assert "Budget £2,000.00" in text
    assert "Spent (turned into vouchers) £40.00" in text
    assert "Of which codes issued £30.00" in text
    assert "Reserved £1,420.00, for 2 participants" in text
    assert "Available £540.00" in text
    assert "Reconciled: every check holds." in text and "BREAK" not in text
    assert text.count(" ok ") == 7
    assert "£10.00 0 Yes: keep at least 10" in text
    assert f"{rewards.b} £10.00 31 March 2026" in text  # waiting for a code
    assert f"{rewards.c} , enrolled on 25 March 2026" in text  # waiting for budget
    assert rewards.a not in text
    assert 'href="/programme/rewards"' in response.text  # in the navigation
    assert 'aria-current="page"' in response.text


def test_a_corrupted_ledger_shows_a_break(rewards):
    staff = _signed_in(rewards.app, STAFF)
    with Session(rewards.engine) as session:
        waiting = nightly.waiting_for_vouchers(session)[0]
        session.expunge_all()
    # An issue entry with no code behind it: money spent that no code accounts for.
    with Session(rewards.engine) as session, session.begin():
        session.add(
            RewardEntry(
                participant_id=waiting.participant_id, rule=waiting.rule, period=waiting.period,
                kind=R.ISSUE, points=0, pence=waiting.pence, cap_year=waiting.cap_year,
                as_of=TODAY, voucher_id=None, detail={}, created_at=rewards.clock.now,
            )
        )  # fmt: skip

    text = _text(staff.get("/programme/rewards").text)

    assert "Not reconciled" in text
    assert (
        "Every code issued matches one ledger entry BREAK 3 codes issued, 4 issue entries; "
        "0 codes without an entry, 1 entries without their code or of another value"
    ) in text


def test_staff_see_a_participants_goal_weeks_and_ledger_but_never_a_code(rewards):
    staff = _signed_in(rewards.app, STAFF)
    _signed_in(rewards.app, "pat").get("/me")  # shown to A: notified
    participant = staff.get(f"/programme/participants/{rewards.a}")
    assert f'href="/programme/participants/{rewards.a}/rewards"' in participant.text

    response = staff.get(f"/programme/participants/{rewards.a}/rewards")

    assert response.status_code == 200
    text = _text(response.text)
    assert f"Goals and rewards of {rewards.a}" in text
    assert "Points now 500" in text
    assert "Yes: a sign-in is linked" in text
    assert (
        "30 March 2026 Ready 175 active minutes or 7,050 steps a day (plan week 7) No "
        "From the run-in (14 valid run-in days): 175 minutes a week, 6,000 steps a day "
        "Not counted yet"
    ) in text
    assert "Met: 175 active minutes; 6,000 steps a day over 7 valid days" in text
    assert text.count("Points for a week met") == 5
    assert text.count("Voucher code issued") == 2
    assert "Caps reserved from the budget" in text and "£730.00" in text
    assert "31 March 2026 at 10:00" in text  # when A was shown each reward
    with Session(rewards.engine) as session:
        codes = [rewards.provider.reveal(session, v) for v in session.scalars(
            select(VoucherStock.id).where(VoucherStock.issued_at.is_not(None)))]  # fmt: skip
    for page in (response, participant, staff.get("/programme/rewards")):
        for code in codes:
            assert code not in page.text

    held = _text(staff.get(f"/programme/participants/{rewards.b}/rewards").text)
    assert "Held: 2 valid days the week before, fewer than 4" in held
    assert "Not yet" in held  # B has not seen their rewards
    assert staff.get("/programme/participants/AMK-09999/rewards").status_code == 404


# --- low stock ----------------------------------------------------------------------------


def test_low_stock_counts_codes_left_against_four_weeks_of_issues(settings, web, tmp_path):  # noqa: F811
    app, engine, clock = web
    provider = StockProvider(settings.encryption_key)
    _load(app, _codes(tmp_path, "tens.txt", 15), 1000)
    _load(app, _codes(tmp_path, "fives.txt", 10, start=100), 500)
    _load(app, _codes(tmp_path, "twenties.txt", 2, start=200), 2000)
    with Session(engine) as session, session.begin():
        provider.take(session, [1000] * 12, clock.now - timedelta(days=3))
        provider.take(session, [2000] * 2, clock.now - timedelta(days=40))
        provider.take(session, [500] * 1, clock.now - timedelta(days=1))
    with Session(engine) as session:
        found = low_stock(session, provider, clock.now)
        later = low_stock(session, provider, clock.now + timedelta(days=30))
    # £10: 3 left, 12 issued in four weeks; £5: 9 left, fewer than the minimum of 10;
    # £20: all issued (long ago), none left.
    assert found == {1000: (3, 12), 500: (9, LOW_STOCK_MINIMUM), 2000: (0, LOW_STOCK_MINIMUM)}
    assert later == {1000: (3, 10), 500: (9, 10), 2000: (0, 10)}

    text = _text(_signed_in(app, STAFF).get("/programme").text)
    assert "Voucher codes are running low" in text
    assert "3 codes of £10.00 left; about 12 are issued in four weeks." in text
    assert "9 codes of £5.00 left; keep at least 10 in stock." in text
    assert "Load more with mkdeal programme vouchers load" in text, text


def test_the_low_stock_warning_is_on_staff_pages_only_and_goes_once_codes_are_loaded(rewards):
    staff = _signed_in(rewards.app, STAFF)
    pages = (
        "/programme",
        "/programme/rewards",
        "/programme/enrol",
        f"/programme/participants/{rewards.a}",
        f"/programme/participants/{rewards.a}/rewards",
        f"/programme/participants/{rewards.a}/screen",
    )
    for page in pages:
        text = _text(staff.get(page).text)
        assert "Voucher codes are running low" in text, page
        assert "0 codes of £10.00 left; keep at least 10 in stock." in text, page
    for user, page in (("pat", "/me"), ("r-clinician", "/programme/sign-offs")):
        assert "running low" not in _signed_in(rewards.app, user).get(page).text, user
    assert "running low" not in client(rewards.app).get("/programme/consent/2.0").text

    _load(rewards.app, _codes(rewards.folder, "more.txt", 20, start=1000))

    for page in pages:
        assert "running low" not in staff.get(page).text, page
