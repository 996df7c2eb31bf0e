"""Participants in the app database and the identifiable store: every change with its
audit event, in one transaction.

The app database holds each participant by `person_id` (the keyed pseudonym of their NHS
number) and a study reference (AMK-00001); their name, NHS number, date of birth and
contact details go to the identifiable store only. Enrolment writes the identity first:
if the app database then fails, a re-run finds the identity already there and goes on,
so nothing is half enrolled for long and nothing is lost. Audit details never carry
identifiable data, only references and choices.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mkdeal.activity import consent as consent_docs
from mkdeal.activity.programme import (
    CLINICIAN_ENDS,
    DEVICE_ROUTES,
    PAUSE_REASONS,
    SIGN_OFF_DECISIONS,
    WITHDRAWAL_LEVELS,
    Eligibility,
    Limits,
    eligibility_problems,
    is_positive,
    screen_problems,
)
from mkdeal.activity.readiness import (
    Decision,
    ParticipantState,
    Pause,
    Screen,
    SignOff,
    Withdrawal,
    readiness,
)
from mkdeal.appdb.models import (
    AuditEvent,
    ConsentChoice,
    Participant,
    ProgrammePause,
    ProgrammePractice,
    ProgrammeWithdrawal,
    SafetyScreen,
    ScreenSignOff,
)
from mkdeal.errors import UserError
from mkdeal.identifiable.models import ProgrammeIdentity
from mkdeal.people import Pseudonymiser, nhs_number_problem, normalise_nhs_number


class NotFound(UserError):
    pass


class Refused(UserError):
    """A change the rules do not allow; `problems` are sentences for the form."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Identity:
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    email: str = ""
    mobile: str = ""


def _audit(
    session: Session,
    actor: str,
    action: str,
    reference: str,
    detail: dict | None = None,
    at: datetime | None = None,
    request_id: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action=action,
            target=reference,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
            request_id=request_id,
        )
    )


# --- practices -------------------------------------------------------------------------


def load_practices(
    engine: Engine, rows: Iterable[tuple[str, str]], now: datetime
) -> tuple[int, int]:
    """Make the practice list exactly these (ODS code, name) rows; (added, removed).
    Practices already named by a participant stay, so no enrolment loses its practice."""
    wanted = {code.strip().upper(): name.strip() for code, name in rows}
    with Session(engine) as session, session.begin():
        existing = {p.ods_code: p for p in session.scalars(select(ProgrammePractice))}
        used = set(session.scalars(select(Participant.practice_code).distinct()))
        added = 0
        for code, name in wanted.items():
            if code in existing:
                existing[code].name = name
            else:
                session.add(ProgrammePractice(ods_code=code, name=name, loaded_at=now))
                added += 1
        removed = 0
        for code, practice in existing.items():
            if code not in wanted and code not in used:
                session.delete(practice)
                removed += 1
    return added, removed


def practices(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {
            p.ods_code: p.name
            for p in session.scalars(select(ProgrammePractice).order_by(ProgrammePractice.name))
        }


# --- enrolment -------------------------------------------------------------------------


def identity_problems(identity: Identity) -> list[str]:
    problems = []
    problem = nhs_number_problem(identity.nhs_number)
    if problem:
        problems.append(f"The NHS number {problem}.")
    if not identity.given_name.strip():
        problems.append("Enter the person's given name.")
    if not identity.family_name.strip():
        problems.append("Enter the person's family name.")
    if identity.email and "@" not in identity.email:
        problems.append("Enter an email address like name@example.com, or leave it empty.")
    if not identity.email and not identity.mobile:
        problems.append(
            "Enter an email address or a mobile number, so the programme can reach them."
        )
    return problems


def enrol(
    app: Engine,
    identifiable: Engine,
    pseudonymiser: Pseudonymiser,
    identity: Identity,
    answers: Eligibility,
    *,
    actor: str,
    now: datetime,
    today: date,
    time_zone: str = "Europe/London",
    request_id: str | None = None,
) -> str:
    """Enrol an eligible person; returns their reference. Refused with sentences if they
    are not eligible, the details are incomplete, or they are already enrolled."""
    answers = Eligibility(**{**answers.__dict__, "date_of_birth": identity.date_of_birth})
    problems = identity_problems(identity) + eligibility_problems(answers, today, practices(app))
    if problems:
        raise Refused(problems)
    digits = normalise_nhs_number(identity.nhs_number)
    person_id = pseudonymiser.person_id(digits)
    with Session(app) as session:
        existing = session.scalar(
            select(Participant.reference).where(Participant.person_id == person_id)
        )
    if existing:
        raise Refused([f"This person is already enrolled, as {existing}."])
    with Session(identifiable) as session, session.begin():
        found = session.get(ProgrammeIdentity, person_id)
        if found is None:
            found = ProgrammeIdentity(person_id=person_id, nhs_number=digits, recorded_at=now)
            session.add(found)
        found.given_name = identity.given_name.strip()
        found.family_name = identity.family_name.strip()
        found.date_of_birth = identity.date_of_birth
        found.email = identity.email.strip()
        found.mobile = identity.mobile.strip()
    eligibility = {
        "adult": True,
        "type_2_diabetes": answers.type_2_diabetes,
        "practice_code": answers.practice_code,
        "device_route": answers.device_route,
        "can_use_device": answers.can_use_device,
    }
    try:
        with Session(app) as session, session.begin():
            participant = Participant(
                reference="pending",
                person_id=person_id,
                enrolled_at=now,
                enrolled_by=actor,
                practice_code=answers.practice_code,
                device_route=answers.device_route,
                time_zone=time_zone,
                eligibility=eligibility,
                eligibility_checked_by=actor,
                eligibility_checked_at=now,
            )
            session.add(participant)
            session.flush()
            participant.reference = f"AMK-{participant.id:05d}"
            # The caps for the whole programme are set aside now, if the budget allows.
            from mkdeal.activity.nightly import reserve_at_enrolment

            reserved = reserve_at_enrolment(session, participant.id, now, today)
            _audit(
                session,
                actor,
                "programme.enrol",
                participant.reference,
                {
                    "device_route": answers.device_route,
                    "practice": answers.practice_code,
                    "reserved": reserved,
                },
                now,
                request_id,
            )
            reference = participant.reference
    except IntegrityError:
        raise Refused(["This person was enrolled by someone else a moment ago."]) from None
    return reference


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantRecord:
    id: int
    reference: str
    person_id: str
    enrolled_at: datetime
    enrolled_by: str
    practice_code: str
    device_route: str
    time_zone: str
    eligibility: dict
    state: ParticipantState
    screens: tuple[SafetyScreen, ...]
    sign_offs: tuple[ScreenSignOff, ...]
    pauses: tuple[ProgrammePause, ...]
    withdrawals: tuple[ProgrammeWithdrawal, ...]

    def decision(self, on: date) -> Decision:
        return readiness(self.state, on)


def _state(screens, sign_offs, choices, pauses, withdrawals) -> ParticipantState:
    return ParticipantState(
        screens=tuple(Screen(s.id, s.answered_at, s.answers) for s in screens),
        sign_offs=tuple(
            SignOff(
                s.screen_id,
                s.decision,
                s.signed_at,
                Limits(s.max_weekly_active_minutes, s.max_daily_steps, s.no_vigorous, s.note),
            )
            for s in sign_offs
        ),
        choices=tuple(
            consent_docs.Choice(c.version, c.item, c.agreed, c.recorded_at) for c in choices
        ),
        pauses=tuple(Pause(p.reason, p.starts_on, p.ends_on, p.recorded_at) for p in pauses),
        withdrawals=tuple(Withdrawal(w.level, w.at) for w in withdrawals),
    )


def records(engine: Engine, references: Iterable[str] | None = None) -> list[ParticipantRecord]:
    """Participants with everything recorded about them, in five queries however many."""
    with Session(engine) as session:
        query = select(Participant).order_by(Participant.id)
        if references is not None:
            query = query.where(Participant.reference.in_(list(references)))
        people = list(session.scalars(query))
        ids = [p.id for p in people]
        by: dict[str, dict[int, list]] = {}
        for name, model in (
            ("screens", SafetyScreen),
            ("choices", ConsentChoice),
            ("pauses", ProgrammePause),
            ("withdrawals", ProgrammeWithdrawal),
        ):
            grouped: dict[int, list] = {}
            rows = session.scalars(
                select(model).where(model.participant_id.in_(ids)).order_by(model.id)
            )
            for row in rows:
                grouped.setdefault(row.participant_id, []).append(row)
            by[name] = grouped
        screen_owner = {s.id: pid for pid, screens in by["screens"].items() for s in screens}
        sign_offs: dict[int, list] = {}
        query = select(ScreenSignOff).where(ScreenSignOff.screen_id.in_(list(screen_owner)))
        for row in session.scalars(query.order_by(ScreenSignOff.id)):
            sign_offs.setdefault(screen_owner[row.screen_id], []).append(row)
        session.expunge_all()
    found = []
    for p in people:
        parts = {name: tuple(by[name].get(p.id, ())) for name in by}
        mine = tuple(sign_offs.get(p.id, ()))
        found.append(
            ParticipantRecord(
                p.id,
                p.reference,
                p.person_id,
                p.enrolled_at,
                p.enrolled_by,
                p.practice_code,
                p.device_route,
                p.time_zone,
                dict(p.eligibility),
                _state(
                    parts["screens"], mine, parts["choices"], parts["pauses"], parts["withdrawals"]
                ),
                parts["screens"],
                mine,
                parts["pauses"],
                parts["withdrawals"],
            )
        )
    return found


def record(engine: Engine, reference: str) -> ParticipantRecord:
    found = records(engine, [reference])
    if not found:
        raise NotFound(f"There is no participant {reference}.")
    return found[0]


def identity(
    identifiable: Engine,
    app: Engine,
    person_id: str,
    reference: str,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> Identity | None:
    """A participant's identity, for a viewer with `programme.view_identity`; the view is
    written to the audit log before anything is returned."""
    with Session(app) as session, session.begin():
        _audit(session, actor, "programme.view_identity", reference, None, now, request_id)
    with Session(identifiable) as session:
        row = session.get(ProgrammeIdentity, person_id)
        if row is None:
            return None
        return Identity(
            row.nhs_number,
            row.given_name,
            row.family_name,
            row.date_of_birth,
            row.email,
            row.mobile,
        )


def history(engine: Engine, reference: str) -> list[AuditEvent]:
    """Every change to a participant (and every view of their identity), newest first."""
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.target == reference)
        return list(session.scalars(query.order_by(AuditEvent.id.desc())))


# --- changes ----------------------------------------------------------------------------


def _participant(session: Session, reference: str) -> Participant:
    found = session.scalar(select(Participant).where(Participant.reference == reference))
    if found is None:
        raise NotFound(f"There is no participant {reference}.")
    return found


def _withdrawn_rank(session: Session, participant: Participant) -> int:
    levels = session.scalars(
        select(ProgrammeWithdrawal.level).where(
            ProgrammeWithdrawal.participant_id == participant.id
        )
    )
    return max((WITHDRAWAL_LEVELS[level].rank for level in levels), default=0)


def _not_withdrawn(session: Session, participant: Participant, what: str) -> None:
    if _withdrawn_rank(session, participant):
        raise Refused([f"{participant.reference} has withdrawn, so {what} cannot be recorded."])


def record_screen(
    engine: Engine,
    reference: str,
    answers: Mapping[str, bool | None],
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> int:
    """Record a screen; returns its id. A positive screen needs a clinician's sign-off."""
    problems = screen_problems(answers)
    if problems:
        raise Refused(problems)
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        _not_withdrawn(session, participant, "a screen")
        screen = SafetyScreen(
            participant_id=participant.id, answers=dict(answers), answered_at=now, recorded_by=actor
        )
        session.add(screen)
        session.flush()
        _audit(
            session,
            actor,
            "programme.screen",
            reference,
            {"screen": screen.id, "positive": is_positive(answers)},
            now,
            request_id,
        )
        return screen.id


def sign_off(
    engine: Engine,
    reference: str,
    screen_id: int,
    decision: str,
    limits: Limits,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> None:
    """A clinician's sign-off of a positive screen: cleared, cleared with limits, or not."""
    problems = []
    if decision not in SIGN_OFF_DECISIONS:
        problems.append(f"Choose a decision: {', '.join(SIGN_OFF_DECISIONS.values()).lower()}.")
    if decision == "cleared_with_limits" and not limits:
        problems.append("Give at least one limit, or choose cleared without limits.")
    if decision != "cleared_with_limits" and limits:
        problems.append("Limits go with the decision 'cleared with limits'.")
    for value, what in (
        (limits.max_weekly_active_minutes, "active minutes a week"),
        (limits.max_daily_steps, "steps a day"),
    ):
        if value is not None and value <= 0:
            problems.append(f"The most {what} must be a whole number above 0.")
    if problems:
        raise Refused(problems)
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        _not_withdrawn(session, participant, "a sign-off")
        screen = session.get(SafetyScreen, screen_id)
        if screen is None or screen.participant_id != participant.id:
            raise NotFound(f"{reference} has no screen {screen_id}.")
        if not is_positive(screen.answers):
            raise Refused(["This screen found no risk, so it needs no sign-off."])
        latest = session.scalar(
            select(SafetyScreen.id)
            .where(SafetyScreen.participant_id == participant.id)
            .order_by(SafetyScreen.answered_at.desc(), SafetyScreen.id.desc())
            .limit(1)
        )
        if latest != screen_id:
            raise Refused(["A newer screen has been recorded: sign that one off instead."])
        session.add(
            ScreenSignOff(
                screen_id=screen_id,
                decision=decision,
                max_weekly_active_minutes=limits.max_weekly_active_minutes,
                max_daily_steps=limits.max_daily_steps,
                no_vigorous=limits.no_vigorous,
                note=limits.note,
                signed_at=now,
                signed_by=actor,
            )
        )
        _audit(
            session,
            actor,
            "programme.sign_off",
            reference,
            {"screen": screen_id, "decision": decision, "limits": limits.__dict__},
            now,
            request_id,
        )


def record_consent(
    engine: Engine,
    reference: str,
    version: str,
    answers: Mapping[str, bool | None],
    *,
    actor: str,
    now: datetime,
    today: date,
    request_id: str | None = None,
) -> None:
    """Record a participant's choices on the version in force (every item answered)."""
    force = consent_docs.in_force(today)
    if force is None or force.version != version:
        current = force.version if force else "none"
        raise Refused([f"Consent is recorded on the version in force ({current}), not {version}."])
    problems = consent_docs.choices_problems(force, answers)
    if problems:
        raise Refused(problems)
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        _not_withdrawn(session, participant, "consent")
        for item in force.item_ids:
            session.add(
                ConsentChoice(
                    participant_id=participant.id,
                    version=version,
                    item=item,
                    agreed=bool(answers[item]),
                    recorded_at=now,
                    recorded_by=actor,
                )
            )
        _audit(
            session,
            actor,
            "programme.consent",
            reference,
            {"version": version, "choices": {k: bool(v) for k, v in answers.items()}},
            now,
            request_id,
        )


def start_pause(
    engine: Engine,
    reference: str,
    reason: str,
    starts_on: date,
    ends_on: date | None,
    note: str,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> int:
    problems = []
    if reason not in PAUSE_REASONS:
        problems.append(
            f"Choose why the participant is pausing: {', '.join(PAUSE_REASONS.values()).lower()}."
        )
    if ends_on is not None and ends_on < starts_on:
        problems.append("The last day of the pause must be on or after its first day.")
    if problems:
        raise Refused(problems)
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        _not_withdrawn(session, participant, "a pause")
        pause = ProgrammePause(
            participant_id=participant.id,
            reason=reason,
            starts_on=starts_on,
            ends_on=ends_on,
            note=note.strip(),
            recorded_at=now,
            recorded_by=actor,
        )
        session.add(pause)
        session.flush()
        _audit(
            session,
            actor,
            "programme.pause",
            reference,
            {"pause": pause.id, "reason": reason, "from": starts_on, "to": ends_on},
            now,
            request_id,
        )
        return pause.id


def end_pause(
    engine: Engine,
    reference: str,
    pause_id: int,
    last_day: date,
    *,
    actor: str,
    clinician: bool,
    now: datetime,
    request_id: str | None = None,
) -> None:
    """End a pause on its last day. A pause after a hypoglycaemia or an injury is ended only
    by a clinician (`clinician`: the actor holds `programme.sign_off`)."""
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        pause = session.get(ProgrammePause, pause_id)
        if pause is None or pause.participant_id != participant.id:
            raise NotFound(f"{reference} has no pause {pause_id}.")
        if pause.reason in CLINICIAN_ENDS and not clinician:
            raise Refused(["Only a clinician can end a pause after a hypoglycaemia or an injury."])
        if last_day < pause.starts_on:
            raise Refused(["The last day of the pause must be on or after its first day."])
        pause.ends_on = last_day
        pause.ended_by = actor
        _audit(
            session,
            actor,
            "programme.pause_end",
            reference,
            {"pause": pause_id, "to": last_day},
            now,
            request_id,
        )


def withdraw(
    engine: Engine,
    reference: str,
    level: str,
    reason: str,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> bool:
    """Record a withdrawal at a level (and every lower level not yet reached); False if the
    participant had already reached it. Levels never go back down."""
    if level not in WITHDRAWAL_LEVELS:
        raise Refused([f"Choose a level of withdrawal: {', '.join(WITHDRAWAL_LEVELS)}."])
    rank = WITHDRAWAL_LEVELS[level].rank
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        reached = _withdrawn_rank(session, participant)
        if reached >= rank:
            return False
        for each in WITHDRAWAL_LEVELS.values():
            if reached < each.rank <= rank:
                session.add(
                    ProgrammeWithdrawal(
                        participant_id=participant.id,
                        level=each.code,
                        at=now,
                        recorded_by=actor,
                        reason=reason.strip(),
                    )
                )
        _audit(
            session,
            actor,
            "programme.withdraw",
            reference,
            {"level": level, "effect": WITHDRAWAL_LEVELS[level].effect},
            now,
            request_id,
        )
    return True


def change_device(
    engine: Engine,
    reference: str,
    route: str,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> None:
    if route not in DEVICE_ROUTES:
        raise Refused(
            [f"Choose a device route: {', '.join(r.name for r in DEVICE_ROUTES.values())}."]
        )
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        if participant.device_route == route:
            return
        before, participant.device_route = participant.device_route, route
        _audit(
            session,
            actor,
            "programme.device_route",
            reference,
            {"from": before, "to": route},
            now,
            request_id,
        )


def link_account(
    engine: Engine,
    reference: str,
    username: str,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> None:
    """Let a user with the participant role sign in as one participant (one user each)."""
    from mkdeal.access.roles import role_book
    from mkdeal.appdb.models import ParticipantAccount, User, UserRole

    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            raise NotFound(f"There is no user {username!r}: add them with `mkdeal users add`.")
        roles = set(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))
        book = role_book()
        if not any("participant.self" in book.role(role).permissions for role in roles):
            raise Refused([f"{user.username} does not have the participant role."])
        if any(book.role(role).permissions - {"participant.self"} for role in roles):
            raise Refused(
                [f"{user.username} has staff roles too: a participant signs in as themselves only."]
            )
        linked = session.scalar(
            select(ParticipantAccount).where(
                (ParticipantAccount.user_id == user.id)
                | (ParticipantAccount.participant_id == participant.id)
            )
        )
        if linked is not None:
            if linked.user_id == user.id and linked.participant_id == participant.id:
                return
            raise Refused(["That participant or that user already has a sign-in of their own."])
        session.add(
            ParticipantAccount(
                user_id=user.id, participant_id=participant.id, linked_at=now, linked_by=actor
            )
        )
        _audit(
            session,
            actor,
            "programme.account_link",
            reference,
            {"user": user.username},
            now,
            request_id,
        )


def participant_of_user(engine: Engine, user_id: int) -> ParticipantRecord | None:
    """The participant a signed-in user is, if any."""
    from mkdeal.appdb.models import ParticipantAccount

    with Session(engine) as session:
        reference = session.scalar(
            select(Participant.reference)
            .join(ParticipantAccount, ParticipantAccount.participant_id == Participant.id)
            .where(ParticipantAccount.user_id == user_id)
        )
    return record(engine, reference) if reference else None
