"""Synthetic Active MK participants for the demo: adults of the synthetic Milton Keynes
(the same people, NHS numbers in the 999 test range, as `mkdeal synth` makes with the
same seed, so their person_ids join the warehouse) enrolled in varied states.

`plan` is pure: one timeline of events per participant, from a seed. `apply` replays the
timelines through the programme's own service functions (`participants`), so synthetic
participants pass every check a real one does and leave the same audit trail. A person
already enrolled is skipped, so running it again changes nothing.

Shares (invented, of a plausible size): about a third of people with type 2 diabetes
take insulin or a sulfonylurea, so about 40% screen positive; most are cleared by a
clinician within a fortnight, some with limits, a few not; most people enrolled before
consent version 2.0 consent again; a few pause, and a few withdraw at each level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mkdeal.activity import consent, participants
from mkdeal.activity.participants import Identity
from mkdeal.activity.programme import SCREEN_CODES, Eligibility, Limits
from mkdeal.appdb.models import Participant
from mkdeal.people import Pseudonymiser

STAFF, CLINICIAN = "synthetic:programme-staff", "synthetic:clinician"
PROGRAMME_START = date(2025, 9, 1)
ROUTES = {
    "apple_watch_iphone": 0.55,
    "android_health_connect": 0.25,
    "garmin": 0.1,
    "loaned_device": 0.1,
}
# Names common in England, for the demo only.
GIVEN = (  # noqa: SIM905 (a list of words reads best as words)
    "Olivia Amelia Isla Ava Mia Sophia Grace Lily Freya Emily Muhammad Noah Oliver "
    "George Leo Arthur Oscar Harry Jack Charlie Priya Aisha Fatima Zara Kwame Tunde Mei "
    "Jan Anna Piotr Margaret Susan Linda Patricia David John Peter Michael Robert Paul"
).split()
FAMILY = (  # noqa: SIM905 (a list of words reads best as words)
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Walker "
    "Wright Robinson Thompson White Hughes Edwards Green Hall Khan Patel Begum Ali "
    "Hussain Okafor Mensah Nowak Kowalski Chen Wang Singh Kaur Murphy Kelly Clarke"
).split()


@dataclass
class Event:
    day: date
    kind: str  # screen, sign_off, consent, pause, end_pause, withdraw
    detail: dict = field(default_factory=dict)


@dataclass
class Plan:
    identity: Identity
    eligibility: Eligibility
    enrolled_on: date
    events: list[Event]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def plan(
    count: int, *, seed: int, start: date, end: date, scale: float, as_of: date
) -> tuple[list[Plan], dict[str, str]]:
    """`count` participants' timelines up to `as_of`, and the practices they come from."""
    from mkdeal.synth.population import build_world

    if as_of <= PROGRAMME_START + timedelta(days=14):
        raise ValueError(f"The demo programme starts on {PROGRAMME_START}; --as-of is too early.")
    world = build_world(np.random.default_rng([seed, 0]), start, end, scale)
    rng = np.random.default_rng([seed, 25])
    ages = world.ages_on(np.datetime64(as_of))
    alive = np.isnat(world.death_dates)
    candidates = np.flatnonzero((ages >= 40) & (ages <= 79) & alive)
    if len(candidates) < count:
        raise ValueError(f"The synthetic Milton Keynes has only {len(candidates)} adults to enrol.")
    chosen = np.sort(rng.choice(candidates, size=count, replace=False))
    practices = {str(code): f"Synthetic practice {code}" for code in world.practice_codes}
    span = (as_of - PROGRAMME_START).days - 3
    plans = []
    for number, index in enumerate(chosen, start=1):
        enrolled = PROGRAMME_START + timedelta(days=int(rng.integers(0, span)))
        given, family = str(rng.choice(GIVEN)), str(rng.choice(FAMILY))
        identity = Identity(
            nhs_number=str(world.nhs_numbers[index]),
            given_name=given,
            family_name=family,
            date_of_birth=world.birth_dates[index].astype(date),
            email=f"{given}.{family}.{number}@example.com".lower(),
            mobile=f"07700 900{number % 1000:03d}",  # Ofcom's range for drama
        )
        route = str(rng.choice(list(ROUTES), p=list(ROUTES.values())))
        eligibility = Eligibility(
            identity.date_of_birth,
            True,
            str(world.practice_codes[world.practice_index[index]]),
            route,
            True,
        )
        plans.append(Plan(identity, eligibility, enrolled, _timeline(rng, enrolled, as_of)))
    return plans, practices


def _timeline(rng: np.random.Generator, enrolled: date, as_of: date) -> list[Event]:
    def later(low: int, high: int, after: date) -> date | None:
        day = after + timedelta(days=int(rng.integers(low, high + 1)))
        return day if day <= as_of else None

    events: list[Event] = []
    # Consent on the day of enrolment, under the version then in force; most of those
    # enrolled under 1.0 consent again to 2.0 within a few weeks of it.
    first = consent.in_force(enrolled)
    events.append(
        Event(enrolled, "consent", {"version": first.version, "trial": rng.random() > 0.06})
    )
    newest = consent.in_force(as_of)
    if first.version != newest.version and rng.random() < 0.8:
        day = later(0, 40, max(newest.in_force_from, enrolled))
        if day:
            events.append(Event(day, "consent", {"version": newest.version, "trial": True}))
    if rng.random() < 0.05:
        return events  # not screened yet
    screened = later(0, 3, enrolled) or enrolled
    positive = rng.random() < 0.4
    answers = {code: False for code in SCREEN_CODES}
    if positive:
        weights = np.array([0.75, 0.1, 0.08, 0.07])
        answers[SCREEN_CODES[rng.choice(4, p=weights)]] = True
    events.append(Event(screened, "screen", {"answers": answers}))
    ready_from = screened
    if positive:
        signed = later(1, 14, screened)
        if signed is None or rng.random() < 0.06:
            return _sorted(events)  # sign-off pending
        draw = rng.random()
        if answers["proliferative_retinopathy"] or draw < 0.2:
            decision = "cleared_with_limits"
            limits = Limits(
                max_weekly_active_minutes=int(rng.choice([90, 120])),
                no_vigorous=bool(answers["proliferative_retinopathy"]),
                note="Build up slowly; review at 12 weeks.",
            )
        else:
            decision, limits = ("not_cleared", Limits()) if draw > 0.93 else ("cleared", Limits())
        events.append(Event(signed, "sign_off", {"decision": decision, "limits": limits}))
        ready_from = signed
    draw = rng.random()
    if draw < 0.12:  # a holiday that has ended
        start = later(7, 90, ready_from)
        if start:
            end = start + timedelta(days=int(rng.integers(6, 15)))
            events.append(Event(start, "pause", {"reason": "holiday", "to": min(end, as_of)}))
    elif draw < 0.17:  # unwell now
        start = later(0, 20, max(ready_from, as_of - timedelta(days=20)))
        if start:
            events.append(Event(start, "pause", {"reason": "unwell", "to": None}))
    elif draw < 0.2:  # a hypoglycaemia or injury reported; a clinician ends half of them
        start = later(7, 60, ready_from)
        if start:
            ended = later(5, 10, start)
            ends = ended if ended and rng.random() < 0.5 else None
            events.append(Event(start, "pause", {"reason": "hypo_or_injury", "to": None}))
            if ends:
                events.append(Event(ends, "end_pause", {}))
    draw = rng.random()
    level = (
        "programme"
        if draw < 0.04
        else "data_collection"
        if draw < 0.06
        else "data"
        if draw < 0.07
        else None
    )
    if level:
        day = later(14, 120, ready_from)
        if day:
            # Nothing is recorded for a participant after they withdraw.
            events = [e for e in events if e.day <= day] + [
                Event(day, "withdraw", {"level": level})
            ]
    return _sorted(events)


def _sorted(events: list[Event]) -> list[Event]:
    order = {"consent": 0, "screen": 1, "sign_off": 2, "pause": 3, "end_pause": 4, "withdraw": 5}
    return sorted(events, key=lambda e: (e.day, order[e.kind]))


def apply(
    app: Engine,
    identifiable: Engine,
    pseudonymiser: Pseudonymiser,
    plans: list[Plan],
    practices: dict[str, str],
    *,
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[int, int]:
    """Enrol the plans' people and replay their timelines; (enrolled, already there)."""
    participants.load_practices(app, practices.items(), _at(PROGRAMME_START, 8))
    with Session(app) as session:
        enrolled_ids = set(session.scalars(select(Participant.person_id)))
    added = skipped = 0
    for number, item in enumerate(plans, start=1):
        if pseudonymiser.person_id(item.identity.nhs_number) in enrolled_ids:
            skipped += 1
            continue
        reference = participants.enrol(
            app, identifiable, pseudonymiser, item.identity, item.eligibility,
            actor=STAFF, now=_at(item.enrolled_on, 9), today=item.enrolled_on,
        )  # fmt: skip
        _replay(app, reference, item.events)
        added += 1
        if number % 100 == 0:
            progress(f"  {number:,} of {len(plans):,} participants")
    return added, skipped


def _replay(app: Engine, reference: str, events: list[Event]) -> None:
    screen_id = pause_id = None
    for hour, event in enumerate(events, start=10):
        now = _at(event.day, min(hour, 17))
        detail = event.detail
        if event.kind == "consent":
            items = consent.document(detail["version"]).item_ids
            answers = {item: (item != "trial_data_sharing" or detail["trial"]) for item in items}
            participants.record_consent(
                app, reference, detail["version"], answers, actor=STAFF, now=now, today=event.day
            )
        elif event.kind == "screen":
            screen_id = participants.record_screen(
                app, reference, detail["answers"], actor=STAFF, now=now
            )
        elif event.kind == "sign_off":
            participants.sign_off(
                app,
                reference,
                screen_id,
                detail["decision"],
                detail["limits"],
                actor=CLINICIAN,
                now=now,
            )
        elif event.kind == "pause":
            pause_id = participants.start_pause(
                app, reference, detail["reason"], event.day, detail["to"], "", actor=STAFF, now=now
            )
        elif event.kind == "end_pause":
            participants.end_pause(
                app, reference, pause_id, event.day, actor=CLINICIAN, clinician=True, now=now
            )
        elif event.kind == "withdraw":
            participants.withdraw(
                app, reference, detail["level"], "Synthetic: no longer wishes to take part.",
                actor=STAFF, now=now,
            )  # fmt: skip


def senders(app: Engine, as_of: date) -> list:
    """The synthetic participants' devices and the days each sends: from the day after
    consent to the day before data collection stopped (or `as_of`). A participant whose
    consent was replaced by a new version sends nothing from the day it came into force
    until the day after they consent again (the API would refuse it), so they may have
    two spans."""
    from mkdeal.activity.readiness import LONDON
    from mkdeal.activity.synthetic_activity import Sender

    def local(moment) -> date:
        return moment.astimezone(LONDON).date()

    found = []
    for record in participants.records(app):
        if record.enrolled_by != STAFF:
            continue
        versions: dict[str, date] = {}
        for choice in sorted(record.state.choices, key=lambda c: c.recorded_at):
            versions.setdefault(choice.version, local(choice.recorded_at))
        end = as_of - timedelta(days=1)
        stops = [w.at for w in record.state.withdrawals if w.level != "programme"]
        if stops:
            end = min(end, local(min(stops)) - timedelta(days=1))
        for version, consented in versions.items():
            document = consent.document(version)
            later = [d for d in consent.documents() if d.in_force_from > document.in_force_from]
            last = min(end, later[0].in_force_from - timedelta(days=1)) if later else end
            first = consented + timedelta(days=1)
            if last >= first:
                found.append(
                    Sender(record.reference, record.device_route, record.time_zone, first, last)
                )
    return found
