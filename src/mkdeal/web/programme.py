"""Active MK staff pages (issue 25): the participant list, enrolment, the exercise-safety
screen and a clinician's sign-off, consent, pauses, withdrawal, identities, and the
consent document as participants read it; and (issue 27) a participant's goals and reward
ledger, and the programme's rewards page: the reconciliation, voucher stock, and who waits
for a code or for budget. Every page run by programme staff warns when codes run low.

Routes are thin: every change goes through `activity.participants`, which checks the
rules and writes the audit event in the same transaction. What routes do themselves is
turn form fields into values (a date typed in three boxes, a yes or a no) and a refusal's
sentences into an NHS.UK error summary whose items link to the field they are about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from mkdeal.activity import consent, nightly, participant_view, participants, sync, vouchers
from mkdeal.activity import rewards as R
from mkdeal.activity.adapters import PayloadError, parse
from mkdeal.activity.participants import Identity, NotFound, ParticipantRecord, Refused
from mkdeal.activity.programme import (
    CLINICIAN_ENDS,
    DEVICE_ROUTES,
    PAUSE_REASONS,
    SCREEN_QUESTIONS,
    SIGN_OFF_DECISIONS,
    WITHDRAWAL_LEVELS,
    Eligibility,
    Limits,
    is_positive,
)
from mkdeal.activity.readiness import (
    HOLD,
    MAY_RISE,
    NOT_READY,
    accepts_data,
    consent_on,
    latest_screen,
    sign_off_of,
    withdrawal_on,
)
from mkdeal.errors import UserError
from mkdeal.people import Pseudonymiser
from mkdeal.web.app import render, viewer_of
from mkdeal.web.rules import rule

router = APIRouter()
LONDON = ZoneInfo("Europe/London")

ANSWERS = {  # readiness answer: (words, tag colour)
    MAY_RISE: ("Ready", "green"),
    HOLD: ("Goal on hold", "yellow"),
    NOT_READY: ("Not ready", "red"),
}
# After a change the page says what happened; the query names one of these, so no text
# from the address is ever shown.
DONE = {
    "enrolled": "The person is enrolled. Next, record the exercise-safety screen.",
    "screen": "The screen is recorded. It found no risk.",
    "screen_positive": (
        "The screen is recorded. It found a risk, so it goes to a clinician to sign off "
        "before any goal is set."
    ),
    "consent": "The consent choices are recorded.",
    "pause": "The pause is recorded.",
    "pause_end": "The pause is ended.",
    "withdrawn": "The withdrawal is recorded.",
    "device": "The device route is changed.",
    "signed_off": "The sign-off is recorded.",
    "token_revoked": "The device token is revoked: the device can no longer send data.",
    "day_entered": (
        "The day is recorded. It shows here once run-due has ingested it (every few minutes)."
    ),
}
ACTIONS = {
    "programme.enrol": "Enrolled",
    "programme.screen": "Exercise-safety screen",
    "programme.sign_off": "Clinician's sign-off",
    "programme.consent": "Consent recorded",
    "programme.pause": "Pause started",
    "programme.pause_end": "Pause ended",
    "programme.withdraw": "Withdrawal",
    "programme.device_route": "Device route changed",
    "programme.view_identity": "Identity viewed",
    "programme.token_issue": "Device token issued",
    "programme.token_revoke": "Device token revoked",
    "programme.account_link": "Sign-in linked",
    "programme.voucher_view": "Voucher code viewed by the participant",
}
YES_NO = {"yes": True, "no": False}


# --- shared helpers -----------------------------------------------------------------------


class Problems:
    """Sentences for an error summary, each linked to the field it is about.

    `fields` maps each field's name, in the order the form shows them, to (the id its
    summary link points at, words that name it). A refusal from the service goes to the
    field whose words it contains (the longest match, so "a device route they can use"
    beats "device route"); one that names no field is listed last, without a link. The
    summary follows the form's order, as the NHS.UK error summary asks.
    """

    def __init__(self, fields: Mapping[str, tuple[str, tuple[str, ...]]] | None = None) -> None:
        self.fields = dict(fields or {})
        self._found: list[tuple[int, int, dict]] = []
        self.inline: dict[str, str] = {}

    def _field_of(self, sentence: str) -> str | None:
        lowered = sentence.lower()
        matches = [
            (len(word), name)
            for name, (_, words) in self.fields.items()
            for word in words
            if word.lower() in lowered
        ]
        return max(matches, key=lambda match: match[0])[1] if matches else None

    def add(self, sentence: str, field: str | None = None, anchor: str | None = None) -> None:
        field = field or self._field_of(sentence)
        order = list(self.fields)
        if field is None:
            self._found.append((len(order) + 1, len(self._found), {"text": sentence}))
            return
        target = anchor or self.fields.get(field, (field, ()))[0]
        place = order.index(field) if field in order else len(order)
        self._found.append((place, len(self._found), {"text": sentence, "href": f"#{target}"}))
        self.inline.setdefault(field, sentence)

    def extend(self, sentences: list[str]) -> None:
        for sentence in sentences:
            self.add(sentence)

    @property
    def summary(self) -> list[dict]:
        return [item for _, _, item in sorted(self._found, key=lambda found: found[:2])]

    def __bool__(self) -> bool:
        return bool(self._found)


def _today(request: Request) -> date:
    """Today in Milton Keynes, from the app's clock (tests move it)."""
    return request.app.state.now().astimezone(LONDON).date()


def _who(request: Request) -> dict:
    """Who makes a change, when, and the request it came in (for the audit event)."""
    return {
        "actor": viewer_of(request).name,
        "now": request.app.state.now(),
        "request_id": request.state.request_id,
    }


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return f"{moment.astimezone(LONDON):%-d %B %Y at %H:%M}"


def _day(on: date | None) -> str:
    return f"{on:%-d %B %Y}" if on else ""


def _day_of(moment: datetime) -> str:
    """The London date of a moment."""
    return _day(moment.astimezone(LONDON).date())


def _detail(text: str | None) -> str:
    """An audit event's detail (JSON) as "name: value" pairs a person can read."""
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text

    def words(value) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k.replace('_', ' ')} {words(v)}" for k, v in value.items())
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    return "; ".join(f"{key.replace('_', ' ')}: {words(value)}" for key, value in data.items())


def _sentence(text: str) -> str:
    """Text begun with a capital, the rest left as written (so "iPhone" stays)."""
    return text[:1].upper() + text[1:]


def _nhs_number(digits: str) -> str:
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


HELPERS = {
    "when": _when,
    "day": _day,
    "day_of": _day_of,
    "detail": _detail,
    "sentence": _sentence,
    "answers": ANSWERS,
    "routes": DEVICE_ROUTES,
    "questions": SCREEN_QUESTIONS,
    "decisions": SIGN_OFF_DECISIONS,
    "pause_reasons": PAUSE_REASONS,
    "levels": WITHDRAWAL_LEVELS,
    "actions": ACTIONS,
    "pounds": R.pounds,
}


def _low_stock(request: Request) -> list[dict]:
    """Voucher values running low, for the warning on every programme staff page."""
    provider = nightly.provider_for(request.app.state.settings)
    with Session(request.app.state.engine) as session:
        low = vouchers.low_stock(session, provider, request.app.state.now())
    return [
        {
            "pence": pence,
            "left": left,
            "needed": needed,
            "recent": needed > vouchers.LOW_STOCK_MINIMUM,
        }
        for pence, (left, needed) in sorted(low.items())
    ]


def _page(request: Request, template: str, context: dict, status: int = 200):
    extra = {}
    if viewer_of(request).can("programme.manage"):
        extra["low_stock"] = _low_stock(request)
    return render(request, f"programme/{template}", {**HELPERS, **extra, **context}, status)


def _not_found(request: Request):
    return render(request, "error.jinja", {"title": "Page not found"}, 404)


def _see(path: str, done: str | None = None) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}" if done else path, status_code=303)


def _record(request: Request, reference: str) -> ParticipantRecord | None:
    try:
        return participants.record(request.app.state.engine, reference)
    except NotFound:
        return None


def _text(form: Mapping, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _date(
    form: Mapping,
    name: str,
    what: str,
    problems: Problems,
    *,
    example: str,
    required: bool = True,
    field: str | None = None,
) -> date | None:
    """A date typed as day, month and year (`name[day]` …); a problem if it is not one.
    `field` names the date input when several forms on a page share `name`."""
    parts = [_text(form, f"{name}[{part}]") for part in ("day", "month", "year")]
    field = field or name
    anchor = f"{field}-day"
    if not any(parts):
        if required:
            problems.add(f"Enter the {what}.", field, anchor)
        return None
    try:
        if not all(part.isascii() and part.isdigit() for part in parts) or len(parts[2]) != 4:
            raise ValueError
        day, month, year = (int(part) for part in parts)
        return date(year, month, day)
    except ValueError:
        problems.add(
            f"Enter the {what} as a real date: day, month and year, like {example}.",
            field,
            anchor,
        )
        return None


def _whole_number(form: Mapping, name: str, what: str, problems: Problems) -> int | None:
    typed = _text(form, name).replace(",", "")
    if not typed:
        return None
    if not (typed.isascii() and typed.isdigit()):
        problems.add(f"Enter the most {what} as a whole number, or leave it empty.", name)
        return None
    return int(typed)


def _typed(form: Mapping) -> dict[str, str]:
    """The form's fields as typed, to show again beside its problems."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _date_parts(name: str, on: date) -> dict[str, str]:
    return {
        f"{name}[day]": str(on.day),
        f"{name}[month]": str(on.month),
        f"{name}[year]": str(on.year),
    }


# --- the participant list and the clinicians' list ----------------------------------------


def _awaiting_sign_off(found: ParticipantRecord, on: date):
    """The participant's latest screen if it found a risk and no clinician has signed it
    off yet (and they have not withdrawn, when it no longer matters)."""
    screen = latest_screen(found.state.screens, on)
    if screen is None or not is_positive(screen.answers):
        return None
    if sign_off_of(found.state, screen, on) is not None:
        return None
    if withdrawal_on(found.state.withdrawals, on) is not None:
        return None
    return screen


@router.get("/programme", name="programme_list")
@rule("programme.manage")
async def programme_list(request: Request, readiness: str = ""):
    today = _today(request)
    engine = request.app.state.engine
    rows = [
        {
            "record": found,
            "decision": found.decision(today),
            "consent": consent_on(found.state, today),
        }
        for found in participants.records(engine)
    ]
    counts = {answer: sum(row["decision"].answer == answer for row in rows) for answer in ANSWERS}
    chosen = readiness if readiness in ANSWERS else ""
    shown = [row for row in rows if not chosen or row["decision"].answer == chosen]
    return _page(
        request,
        "list.jinja",
        {
            "title": "Active MK participants",
            "rows": shown,
            "total": len(rows),
            "counts": counts,
            "chosen": chosen,
            "today": today,
        },
    )


@router.get("/programme/sign-offs", name="programme_sign_offs")
@rule("programme.sign_off")
async def programme_sign_offs(request: Request, done: str = ""):
    return _sign_offs_page(request, done=done)


def _sign_offs_page(
    request: Request,
    *,
    done: str = "",
    problems: Problems | None = None,
    values: Mapping | None = None,
    status: int = 200,
):
    today = _today(request)
    waiting, pauses = [], []
    for found in participants.records(request.app.state.engine):
        screen = _awaiting_sign_off(found, today)
        if screen is not None:
            yes = [q for q in SCREEN_QUESTIONS if screen.answers.get(q.code)]
            waiting.append({"record": found, "screen": screen, "yes": yes})
        if withdrawal_on(found.state.withdrawals, today) is None:
            pauses.extend(
                {"record": found, "pause": pause}
                for pause in found.pauses
                if pause.reason in CLINICIAN_ENDS
                and (pause.ends_on is None or pause.ends_on > today)
            )
    return _page(
        request,
        "sign_offs.jinja",
        {
            "title": "Sign-offs for Active MK",
            "waiting": waiting,
            "pauses": pauses,
            "done": DONE.get(done),
            "problems": problems or Problems(),
            "values": values or {},
            "today": today,
        },
        status,
    )


# --- enrolment -----------------------------------------------------------------------------

ENROL_FIELDS = {
    "nhs_number": ("nhs_number", ("NHS number", "already enrolled")),
    "given_name": ("given_name", ("given name",)),
    "family_name": ("family_name", ("family name",)),
    "date_of_birth": ("date_of_birth-day", ("date of birth", "for adults")),
    "email": ("email", ("email", "mobile")),
    "practice": ("practice", ("practice",)),
    "type_2_diabetes": ("type_2_diabetes", ("type 2 diabetes",)),
    "device_route": ("device_route", ("device route",)),
    "can_use_device": ("can_use_device", ("device route they can use", "use this device")),
}


def _enrol_page(request: Request, values: Mapping, problems: Problems, status: int = 200):
    return _page(
        request,
        "enrol.jinja",
        {
            "title": "Enrol a person in Active MK",
            "values": values,
            "problems": problems,
            "practices": participants.practices(request.app.state.engine),
        },
        status,
    )


@router.get("/programme/enrol", name="programme_enrol")
@rule("programme.manage")
async def programme_enrol(request: Request):
    return _enrol_page(request, {}, Problems())


@router.post("/programme/enrol", name="programme_enrol_submit")
@rule("programme.manage")
async def programme_enrol_submit(request: Request):
    form = await request.form()
    problems = Problems(ENROL_FIELDS)
    born = _date(form, "date_of_birth", "date of birth", problems, example="15 3 1958")
    practice = _text(form, "practice")
    if not practice:
        problems.add("Choose the GP practice the person is registered with.", "practice")
    diabetes = YES_NO.get(_text(form, "type_2_diabetes"))
    if diabetes is None:
        problems.add(
            "Answer yes or no: does the person have a diagnosis of type 2 diabetes?",
            "type_2_diabetes",
        )
    route = _text(form, "device_route")
    if not route:
        problems.add("Choose the device route the person will use.", "device_route")
    can_use = YES_NO.get(_text(form, "can_use_device"))
    if can_use is None:
        problems.add("Answer yes or no: can the person use this device?", "can_use_device")
    identity = Identity(
        _text(form, "nhs_number"),
        _text(form, "given_name"),
        _text(form, "family_name"),
        born,  # type: ignore[arg-type]  (None only beside a problem, and then unused)
        _text(form, "email"),
        _text(form, "mobile"),
    )
    if problems:
        # Show every typing problem at once, not only the choices left out.
        problems.extend(participants.identity_problems(identity))
        return _enrol_page(request, _typed(form), problems, 400)
    settings = request.app.state.settings
    try:
        reference = participants.enrol(
            request.app.state.engine,
            request.app.state.identifiable,
            Pseudonymiser(settings.pseudonymisation_key),
            identity,
            Eligibility(born, diabetes, practice, route, can_use),
            today=_today(request),
            **_who(request),
        )
    except Refused as refused:
        problems.extend(refused.problems)
        return _enrol_page(request, _typed(form), problems, 400)
    return _see(f"/programme/participants/{quote(reference)}", "enrolled")


# --- one participant -------------------------------------------------------------------------

PAGE_FIELDS = {
    "device_route": ("device_route", ("device route",)),
    "reason": ("reason", ("why the participant is pausing",)),
    "starts_on": ("starts_on-day", ("first day",)),
    "ends_on": ("ends_on-day", ("last day", "last day of the pause must be")),
}


def _participant_page(
    request: Request,
    found: ParticipantRecord,
    *,
    done: str = "",
    problems: Problems | None = None,
    values: Mapping | None = None,
    status: int = 200,
):
    today = _today(request)
    engine = request.app.state.engine
    viewer = viewer_of(request)
    state = consent_on(found.state, today)
    document = consent.document(state.version) if state.version else None
    latest: dict[str, bool] = {}
    recorded_at = None
    for choice in sorted(found.state.choices, key=lambda c: c.recorded_at):
        if choice.version == state.version:
            latest[choice.item] = choice.agreed
            recorded_at = choice.recorded_at
    screens = [
        {
            "screen": screen,
            "positive": is_positive(screen.answers),
            "yes": [q for q in SCREEN_QUESTIONS if screen.answers.get(q.code)],
            "sign_offs": [s for s in found.sign_offs if s.screen_id == screen.id],
        }
        for screen in sorted(found.screens, key=lambda s: (s.answered_at, s.id), reverse=True)
    ]
    pauses = [
        {
            "pause": pause,
            "open": pause.ends_on is None or pause.ends_on > today,
            "clinician_only": pause.reason in CLINICIAN_ENDS
            and not viewer.can("programme.sign_off"),
        }
        for pause in sorted(found.pauses, key=lambda p: (p.starts_on, p.id), reverse=True)
    ]
    defaults = _date_parts("starts_on", today)
    for pause in pauses:
        defaults.update(_date_parts(f"last_day_{pause['pause'].id}", today))
    return _page(
        request,
        "participant.jinja",
        {
            "title": f"Participant {found.reference}",
            "found": found,
            "decision": found.decision(today),
            "route": DEVICE_ROUTES.get(found.device_route),
            "practice": participants.practices(engine).get(found.practice_code),
            "consent_state": state,
            "document": document,
            "choices": latest,
            "consent_recorded_at": recorded_at,
            "in_force": consent.in_force(today),
            "screens": screens,
            "pauses": pauses,
            "withdrawn": withdrawal_on(found.state.withdrawals, today),
            "history": participants.history(engine, found.reference),
            "done": DONE.get(done),
            "problems": problems or Problems(),
            "values": {**defaults, **(values or {})},
            "example": f"{today:%-d %-m %Y}",
        },
        status,
    )


@router.get("/programme/participants/{reference}", name="programme_participant")
@rule("programme.manage", sensitive=False)
async def programme_participant(request: Request, reference: str, done: str = ""):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    return _participant_page(request, found, done=done)


@router.get("/programme/participants/{reference}/identity", name="programme_identity")
@rule("programme.view_identity", sensitive=True)
async def programme_identity(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    who = participants.identity(
        request.app.state.identifiable,
        request.app.state.engine,
        found.person_id,
        found.reference,
        **_who(request),
    )
    return _page(
        request,
        "identity.jinja",
        {
            "title": f"Identity of {found.reference}",
            "found": found,
            "who": who,
            "nhs_number": _nhs_number(who.nhs_number) if who else "",
        },
    )


@router.post("/programme/participants/{reference}/device", name="programme_device")
@rule("programme.manage")
async def programme_device(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    try:
        participants.change_device(
            request.app.state.engine, reference, _text(form, "device_route"), **_who(request)
        )
    except Refused as refused:
        problems = Problems(PAGE_FIELDS)
        problems.extend(refused.problems)
        return _participant_page(request, found, problems=problems, values=_typed(form), status=400)
    return _see(f"/programme/participants/{quote(reference)}", "device")


@router.post("/programme/participants/{reference}/pause", name="programme_pause")
@rule("programme.manage")
async def programme_pause(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    problems = Problems(PAGE_FIELDS)
    example = f"{_today(request):%-d %-m %Y}"
    starts = _date(form, "starts_on", "first day of the pause", problems, example=example)
    ends = _date(
        form, "ends_on", "last day of the pause", problems, example=example, required=False
    )
    if not problems:
        try:
            participants.start_pause(
                request.app.state.engine,
                reference,
                _text(form, "reason"),
                starts,  # type: ignore[arg-type]  (a problem above if it is None)
                ends,
                _text(form, "note"),
                **_who(request),
            )
        except Refused as refused:
            problems.extend(refused.problems)
    if problems:
        return _participant_page(request, found, problems=problems, values=_typed(form), status=400)
    return _see(f"/programme/participants/{quote(reference)}", "pause")


async def _end_pause(request: Request, reference: str, pause_id: int, clinician: bool):
    """End a pause on the day typed; (the problems or None, the form's values as typed)."""
    form = await request.form()
    name = f"last_day_{pause_id}"
    problems = Problems()
    example = f"{_today(request):%-d %-m %Y}"
    last_day = _date(
        form, "last_day", "last day of the pause", problems, example=example, field=name
    )
    # Every pause's form names its boxes last_day[…]; show them again under this pause's
    # own name, as the page does.
    values = {
        f"{name}[{part}]": _text(form, f"last_day[{part}]") for part in ("day", "month", "year")
    }
    if problems:
        return problems, values
    try:
        participants.end_pause(
            request.app.state.engine,
            reference,
            pause_id,
            last_day,  # type: ignore[arg-type]  (a problem above if it is None)
            clinician=clinician,
            **_who(request),
        )
    except Refused as refused:
        for sentence in refused.problems:
            problems.add(sentence, name, f"{name}-day")
        return problems, values
    return None, values


@router.post(
    "/programme/participants/{reference}/pauses/{pause_id}/end", name="programme_pause_end"
)
@rule("programme.manage")
async def programme_pause_end(request: Request, reference: str, pause_id: int):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    try:
        problems, values = await _end_pause(
            request, reference, pause_id, viewer_of(request).can("programme.sign_off")
        )
    except NotFound:
        return _not_found(request)
    if problems:
        return _participant_page(request, found, problems=problems, values=values, status=400)
    return _see(f"/programme/participants/{quote(reference)}", "pause_end")


@router.post(
    "/programme/participants/{reference}/pauses/{pause_id}/clinician-end",
    name="programme_pause_clinician_end",
)
@rule("programme.sign_off")
async def programme_pause_clinician_end(request: Request, reference: str, pause_id: int):
    """A clinician ends a pause after a hypoglycaemia or an injury (from the sign-offs
    page: clinicians do not run the programme, so they have no participant page)."""
    if _record(request, reference) is None:
        return _not_found(request)
    try:
        problems, values = await _end_pause(request, reference, pause_id, clinician=True)
    except NotFound:
        return _not_found(request)
    if problems:
        return _sign_offs_page(request, problems=problems, values=values, status=400)
    return _see("/programme/sign-offs", "pause_end")


# --- the screen and its sign-off ---------------------------------------------------------------


def _screen_page(request, found, values, problems, status=200):
    return _page(
        request,
        "screen.jinja",
        {
            "title": f"Exercise-safety screen for {found.reference}",
            "found": found,
            "values": values,
            "problems": problems,
        },
        status,
    )


def _question_fields() -> dict:
    return {q.code: (q.code, (q.question,)) for q in SCREEN_QUESTIONS}


@router.get("/programme/participants/{reference}/screen", name="programme_screen")
@rule("programme.manage")
async def programme_screen(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    return _screen_page(request, found, {}, Problems())


@router.post("/programme/participants/{reference}/screen", name="programme_screen_submit")
@rule("programme.manage")
async def programme_screen_submit(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    answers = {q.code: YES_NO.get(_text(form, q.code)) for q in SCREEN_QUESTIONS}
    try:
        participants.record_screen(request.app.state.engine, reference, answers, **_who(request))
    except Refused as refused:
        problems = Problems(_question_fields())
        problems.extend(refused.problems)
        return _screen_page(request, found, _typed(form), problems, 400)
    done = "screen_positive" if is_positive(answers) else "screen"  # type: ignore[arg-type]
    return _see(f"/programme/participants/{quote(reference)}", done)


SIGN_OFF_FIELDS = {
    "decision": ("decision", ("decision",)),
    "max_weekly_active_minutes": (
        "max_weekly_active_minutes",
        ("active minutes a week", "at least one limit"),
    ),
    "max_daily_steps": ("max_daily_steps", ("steps a day",)),
}


def _sign_off_page(request, found, values, problems, status=200):
    today = _today(request)
    screen = latest_screen(found.state.screens, today)
    if screen is not None and not is_positive(screen.answers):
        screen = None
    made = [s for s in found.sign_offs if screen is not None and s.screen_id == screen.id]
    return _page(
        request,
        "sign_off.jinja",
        {
            "title": f"Sign off the screen of {found.reference}",
            "found": found,
            "screen": screen,
            "signed": max(made, key=lambda s: s.signed_at, default=None),
            "values": values,
            "problems": problems,
        },
        status,
    )


@router.get("/programme/participants/{reference}/sign-off", name="programme_sign_off")
@rule("programme.sign_off")
async def programme_sign_off(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    return _sign_off_page(request, found, {}, Problems())


@router.post("/programme/participants/{reference}/sign-off", name="programme_sign_off_submit")
@rule("programme.sign_off")
async def programme_sign_off_submit(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    screen_id = _text(form, "screen_id")
    if not screen_id.isdigit():
        return _not_found(request)
    problems = Problems(SIGN_OFF_FIELDS)
    weekly = _whole_number(form, "max_weekly_active_minutes", "active minutes a week", problems)
    steps = _whole_number(form, "max_daily_steps", "steps a day", problems)
    if not problems:
        limits = Limits(weekly, steps, _text(form, "no_vigorous") == "yes", _text(form, "note"))
        try:
            participants.sign_off(
                request.app.state.engine,
                reference,
                int(screen_id),
                _text(form, "decision"),
                limits,
                **_who(request),
            )
        except NotFound:
            return _not_found(request)
        except Refused as refused:
            problems.extend(refused.problems)
    if problems:
        return _sign_off_page(request, found, _typed(form), problems, 400)
    return _see("/programme/sign-offs", "signed_off")


# --- consent ----------------------------------------------------------------------------------


def _consent_page(request, found, values, problems, status=200):
    return _page(
        request,
        "consent.jinja",
        {
            "title": f"Record consent for {found.reference}",
            "found": found,
            "document": consent.in_force(_today(request)),
            "values": values,
            "problems": problems,
        },
        status,
    )


@router.get("/programme/participants/{reference}/consent", name="programme_consent")
@rule("programme.manage")
async def programme_consent(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    return _consent_page(request, found, {}, Problems())


@router.post("/programme/participants/{reference}/consent", name="programme_consent_submit")
@rule("programme.manage")
async def programme_consent_submit(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    version = _text(form, "version")
    fields = {}
    answers = {}
    try:
        document = consent.document(version)
    except UserError:
        document = None
    if document is not None:
        fields = {item.id: (item.id, (item.question,)) for item in document.items}
        answers = {item.id: YES_NO.get(_text(form, item.id)) for item in document.items}
    problems = Problems(fields)
    try:
        participants.record_consent(
            request.app.state.engine,
            reference,
            version,
            answers,
            today=_today(request),
            **_who(request),
        )
    except Refused as refused:
        problems.extend(refused.problems)
        return _consent_page(request, found, _typed(form), problems, 400)
    return _see(f"/programme/participants/{quote(reference)}", "consent")


@router.get("/programme/consent/{version}", name="programme_consent_document")
@rule("deal.view")
async def programme_consent_document(request: Request, version: str):
    """A consent version as participants read it, with every version and its date."""
    try:
        document = consent.document(version)
    except UserError:
        return _not_found(request)
    return _page(
        request,
        "consent_document.jinja",
        {
            "title": f"{document.title} (version {document.version})",
            "document": document,
            "documents": consent.documents(),
            "in_force": consent.in_force(_today(request)),
        },
    )


# --- withdrawal -------------------------------------------------------------------------------


def _withdraw_page(request, found, values, problems, status=200):
    return _page(
        request,
        "withdraw.jinja",
        {
            "title": f"Withdraw {found.reference}",
            "found": found,
            "withdrawn": withdrawal_on(found.state.withdrawals, _today(request)),
            "values": values,
            "problems": problems,
        },
        status,
    )


@router.get("/programme/participants/{reference}/withdraw", name="programme_withdraw")
@rule("programme.manage")
async def programme_withdraw(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    return _withdraw_page(request, found, {}, Problems())


@router.post("/programme/participants/{reference}/withdraw", name="programme_withdraw_submit")
@rule("programme.manage")
async def programme_withdraw_submit(request: Request, reference: str):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    problems = Problems({"level": ("level", ("level",))})
    try:
        changed = participants.withdraw(
            request.app.state.engine,
            reference,
            _text(form, "level"),
            _text(form, "reason"),
            **_who(request),
        )
    except Refused as refused:
        problems.extend(refused.problems)
    else:
        if changed:
            return _see(f"/programme/participants/{quote(reference)}", "withdrawn")
        problems.add(
            f"{reference} had already withdrawn at this level or a higher one, so nothing changed.",
            "level",
        )
    return _withdraw_page(request, found, _typed(form), problems, 400)


# --- activity: device tokens, days, staff entry ------------------------------------------

ENTRY_FIELDS = {
    "day": ("day-day", ("the day",)),
    "steps": ("steps", ("steps",)),
    "moderate_minutes": ("moderate_minutes", ("active minutes",)),
    "reason": ("reason", ("say why",)),
}
TOKEN_FIELDS = {"label": ("label", ("name the device",))}
DAYS_SHOWN = 42


def _activity_page(request, found, *, token=None, done="", problems=None, values=None, status=200):
    today = _today(request)
    engine = request.app.state.engine
    days = sync.days_of(engine, found.id, today - timedelta(days=DAYS_SHOWN - 1), today)
    latencies = sorted(day.latency_hours for day in days)
    return _page(
        request,
        "activity.jinja",
        {
            "title": f"Activity of {found.reference}",
            "found": found,
            "tokens": sync.tokens(engine, found.reference),
            "new_token": token,
            "days": days,
            "shown": DAYS_SHOWN,
            "median_latency": latencies[len(latencies) // 2] if latencies else None,
            "accepts": accepts_data(found.state, request.app.state.now()),
            "done": DONE.get(done),
            "problems": problems or Problems(),
            "values": {**_date_parts("day", today - timedelta(days=1)), **(values or {})},
            "example": f"{today:%-d %-m %Y}",
        },
        status,
    )


@router.get("/programme/participants/{reference}/activity", name="programme_activity")
@rule("programme.manage")
async def programme_activity(request: Request, reference: str, done: str = ""):
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    return _activity_page(request, found, done=done)


@router.post("/programme/participants/{reference}/tokens", name="programme_token_issue")
@rule("programme.manage")
async def programme_token_issue(request: Request, reference: str):
    """Issue a device token and show it this once (in the page, never in an address)."""
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    try:
        token = sync.issue_token(
            request.app.state.engine, reference, _text(form, "label"), **_who(request)
        )
    except Refused as refused:
        problems = Problems(TOKEN_FIELDS)
        problems.extend(refused.problems)
        return _activity_page(request, found, problems=problems, status=400)
    response = _activity_page(request, found, token=token)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(
    "/programme/participants/{reference}/tokens/{token_id}/revoke", name="programme_token_revoke"
)
@rule("programme.manage")
async def programme_token_revoke(request: Request, reference: str, token_id: int):
    if _record(request, reference) is None:
        return _not_found(request)
    try:
        sync.revoke_token(request.app.state.engine, reference, token_id, **_who(request))
    except NotFound:
        return _not_found(request)
    return _see(f"/programme/participants/{quote(reference)}/activity", "token_revoked")


@router.post("/programme/participants/{reference}/activity/enter", name="programme_day_entry")
@rule("programme.manage")
async def programme_day_entry(request: Request, reference: str):
    """A day entered by staff after a device failed: a `manual` payload through the same
    inbox as a device's, ingested by run-due like any other."""
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    form = await request.form()
    problems = Problems(ENTRY_FIELDS)
    day = _date(form, "day", "day", problems, example=f"{_today(request):%-d %-m %Y}")
    steps = _text(form, "steps").replace(",", "")
    minutes = _text(form, "moderate_minutes").replace(",", "")
    reason = _text(form, "reason")
    if day is not None and day > _today(request):
        problems.add("The day must be today or earlier.", "day", "day-day")
    entry = {"date": day.isoformat() if day else None}
    for name, typed, what in (
        ("steps", steps, "steps"),
        ("moderate_minutes", minutes, "active minutes"),
    ):
        if typed and not (typed.isascii() and typed.isdigit()):
            problems.add(f"Enter the {what} as a whole number, or leave it empty.", name)
        elif typed:
            entry[name] = int(typed)
    if not problems and len(entry) == 1:
        problems.add("Enter the steps or the active minutes of the day.", "steps")
    if not reason:
        problems.add(
            "Say why the day is entered by hand, for example that the watch failed.", "reason"
        )
    accepted, why = accepts_data(found.state, request.app.state.now())
    if not accepted:
        problems.add(why)
    if not problems:
        payload = {"format": "manual", "version": 1, "reason": reason, "days": [entry]}
        body = json.dumps(payload, sort_keys=True).encode()
        try:
            parse("manual", body, found.time_zone)
        except PayloadError as error:
            problems.add(str(error))
    if problems:
        return _activity_page(request, found, problems=problems, values=_typed(form), status=400)
    who = _who(request)
    sync.receive(
        request.app.state.engine,
        request.app.state.settings.data_dir,
        found.id,
        "manual",
        body,
        now=who["now"],
        entered_by=who["actor"],
    )
    return _see(f"/programme/participants/{quote(reference)}/activity", "day_entered")


# --- goals and rewards ------------------------------------------------------------------------


@router.get("/programme/rewards", name="programme_rewards")
@rule("programme.manage")
async def programme_rewards(request: Request):
    """The reconciliation of the reward ledger, voucher stock, and who is waiting."""
    from mkdeal.activity.reconcile import reconcile

    engine = request.app.state.engine
    today = _today(request)
    result = reconcile(engine, now=request.app.state.now())
    low = {each["pence"]: each for each in _low_stock(request)}
    stock = [
        {"pence": pence, "available": result.codes_available.get(pence, 0), "low": low.get(pence)}
        for pence in sorted(set(result.codes_available) | set(low))
    ]
    return _page(
        request,
        "rewards.jinja",
        {
            "title": "Active MK rewards",
            "result": result,
            "stock": stock,
            "waiting_codes": participant_view.waiting_for_codes(engine),
            "waiting_budget": participant_view.waiting_for_budget(
                engine, participants.records(engine), today
            ),
            "rule": nightly.REWARD_RULE,
            "today": today,
        },
    )


def _period(period: str) -> str:
    """A ledger period in words: a week by its Monday, else as it is (voucher-2)."""
    try:
        return f"Week from {_day(date.fromisoformat(period))}"
    except ValueError:
        return _sentence(period.replace("-", " "))


@router.get("/programme/participants/{reference}/rewards", name="programme_participant_rewards")
@rule("programme.manage")
async def programme_participant_rewards(request: Request, reference: str):
    """A participant's goal weeks and reward ledger; never a voucher code."""
    found = _record(request, reference)
    if found is None:
        return _not_found(request)
    engine = request.app.state.engine
    lines = participant_view.ledger_lines(engine, found.id)
    return _page(
        request,
        "participant_rewards.jinja",
        {
            "title": f"Goals and rewards of {found.reference}",
            "found": found,
            "weeks": participant_view.goal_weeks(engine, found.id),
            "lines": lines,
            "points": sum(line.entry.points for line in lines),
            "first_week": nightly.first_goal_week(nightly.programme_start(found)),
            "signs_in": participant_view.has_sign_in(engine, found.id),
            "kinds": participant_view.KIND_WORDS,
            "notified_kinds": participant_view.NOTIFIED_KINDS,
            "entry_detail": lambda data: _detail(json.dumps(data)) if data else "",
            "period": _period,
            "not_ready": NOT_READY,
        },
    )
