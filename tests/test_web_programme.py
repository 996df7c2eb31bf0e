"""The Active MK staff pages through HTTP: enrolment, the screen and a clinician's sign-off,
consent, pauses, withdrawal, identities, and the participant list."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mkdeal.activity import participants
from mkdeal.activity.participants import Identity
from mkdeal.activity.programme import SCREEN_CODES, Eligibility
from mkdeal.appdb.models import AuditEvent
from mkdeal.identifiable.models import ProgrammeIdentity
from mkdeal.people import Pseudonymiser, is_valid_nhs_number

from .test_web import client, csrf, sign_in, web  # noqa: F401 (web is a fixture)

STAFF, CLINICIAN = "r-programme-staff", "r-clinician"
PRACTICE = ("Z90001", "Synthetic Practice One")
TODAY = date(2026, 3, 31)  # the web fixture's clock: 09:00 UTC on 31 March 2026
PEOPLE = ("9990000018", "9990000026", "9990000034")


@pytest.fixture
def programme(web):  # noqa: F811 (the fixture imported above)
    app, engine, clock = web
    participants.load_practices(engine, [PRACTICE], clock.now)
    return app, engine, clock


def _enrol(app, nhs_number: str = PEOPLE[0], given: str = "Ada") -> str:
    """Enrol through the service, as the demo would, so a test starts from a participant."""
    assert is_valid_nhs_number(nhs_number) and nhs_number.startswith("999")
    born = date(1958, 6, 1)
    return participants.enrol(
        app.state.engine,
        app.state.identifiable,
        Pseudonymiser(app.state.settings.pseudonymisation_key),
        Identity(nhs_number, given, "Example", born, f"{given.lower()}@example.com"),
        Eligibility(born, True, PRACTICE[0], "garmin", True),
        actor="sam",
        now=app.state.now(),
        today=TODAY,
    )


def _signed_in(app, username: str):
    c = client(app)
    assert sign_in(c, username).status_code == 303
    return c


def _post(c, page: str, data: dict, action: str | None = None):
    """Post a form as the browser would: with the CSRF token of the page it is on."""
    return c.post(action or page, data={"csrf_token": csrf(c.get(page).text), **data})


def _summary(html: str) -> list[str]:
    """The error summary's sentences."""
    found = re.search(r'class="nhsuk-error-summary".*?</ul>', html, re.S)
    assert found, "no error summary on the page"
    items = re.findall(r"<li>(.*?)</li>", found.group(0), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


ENROL_FORM = {
    "nhs_number": "999 000 0018",
    "given_name": "Ada",
    "family_name": "Example",
    "date_of_birth[day]": "1",
    "date_of_birth[month]": "6",
    "date_of_birth[year]": "1958",
    "email": "ada@example.com",
    "mobile": "",
    "practice": PRACTICE[0],
    "type_2_diabetes": "yes",
    "device_route": "android_health_connect",
    "can_use_device": "yes",
}


def _no(**yes) -> dict[str, str]:
    return {code: "yes" if yes.get(code) else "no" for code in SCREEN_CODES}


def _all_consent(answer: str = "yes") -> dict[str, str]:
    from mkdeal.activity import consent

    items = consent.in_force(TODAY).item_ids
    return {"version": consent.in_force(TODAY).version, **dict.fromkeys(items, answer)}


# --- enrolment --------------------------------------------------------------------------------


def test_staff_enrol_a_person_through_the_form(programme):
    app, _, _ = programme
    c = _signed_in(app, STAFF)
    form = c.get("/programme/enrol")
    assert form.status_code == 200
    assert "Synthetic Practice One (Z90001)" in form.text
    assert "Needs an iPhone (iOS 17 or later) to pair the watch with." in form.text

    response = _post(c, "/programme/enrol", ENROL_FORM)

    assert response.status_code == 303
    assert response.headers["location"] == "/programme/participants/AMK-00001?done=enrolled"
    page = c.get(response.headers["location"])
    text = _text(page.text)
    assert page.status_code == 200
    assert "Participant AMK-00001" in text and "The person is enrolled." in text
    assert "Not ready" in text and "The exercise-safety screen has not been done." in text
    assert "Android phone with a watch that writes to Health Connect" in text
    assert "Synthetic Practice One (Z90001)" in text
    assert "Checked by r-programme-staff" in text
    # The participant page holds no identity: that is on its own, audited page.
    for secret in ("Ada", "9990000018", "999 000 0018", "ada@example.com", "1958"):
        assert secret not in page.text, secret
    with Session(app.state.identifiable) as session:
        stored = session.scalars(select(ProgrammeIdentity)).one()
    assert (stored.nhs_number, stored.given_name) == ("9990000018", "Ada")
    assert "Enrolled" in text  # the history table


def test_refused_enrolment_shows_sentences_keeps_what_was_typed_and_stores_nothing(programme):
    app, engine, _ = programme
    c = _signed_in(app, STAFF)

    missing = _post(
        c,
        "/programme/enrol",
        {
            **ENROL_FORM,
            "nhs_number": "999 000 0019",  # the check digit is wrong
            "date_of_birth[month]": "13",
            "type_2_diabetes": "",
            "practice": "",
        },
    )
    assert missing.status_code == 400
    sentences = _summary(missing.text)
    # In the form's order, whether the route or the service found them.
    assert sentences == [
        "The NHS number fails the modulus 11 check digit.",
        "Enter the date of birth as a real date: day, month and year, like 15 3 1958.",
        "Choose the GP practice the person is registered with.",
        "Answer yes or no: does the person have a diagnosis of type 2 diabetes?",
    ]
    # Each sentence links to its field, which shows it again.
    for anchor in ("#date_of_birth-day", "#practice", "#type_2_diabetes", "#nhs_number"):
        assert f'href="{anchor}"' in missing.text
    assert 'id="nhs_number-error"' in missing.text
    assert 'value="999 000 0019"' in missing.text and 'value="Example"' in missing.text

    ineligible = _post(
        c,
        "/programme/enrol",
        {
            **ENROL_FORM,
            "date_of_birth[year]": "2010",
            "type_2_diabetes": "no",
            "can_use_device": "no",
            "email": "",
        },
    )
    assert ineligible.status_code == 400
    assert _summary(ineligible.text) == [
        "The programme is for adults: the person is under 18.",
        "Enter an email address or a mobile number, so the programme can reach them.",
        "The programme is for people with a diagnosis of type 2 diabetes.",
        "The person needs a device route they can use; a loaned device needs no phone of "
        "their own.",
    ]
    for anchor in ("#date_of_birth-day", "#email", "#type_2_diabetes", "#can_use_device"):
        assert f'href="{anchor}"' in ineligible.text
    assert participants.records(engine) == []
    with Session(app.state.identifiable) as session:
        assert session.scalars(select(ProgrammeIdentity)).all() == []

    # Enrolling the same person twice names the first enrolment.
    assert _post(c, "/programme/enrol", ENROL_FORM).status_code == 303
    again = _post(c, "/programme/enrol", ENROL_FORM)
    assert again.status_code == 400
    assert _summary(again.text) == ["This person is already enrolled, as AMK-00001."]


# --- the screen, the sign-off and consent -----------------------------------------------------


def test_positive_screen_goes_to_a_clinician_who_signs_off_and_consent_makes_them_ready(
    programme,
):
    app, engine, _ = programme
    reference = _enrol(app)
    staff, clinician = _signed_in(app, STAFF), _signed_in(app, CLINICIAN)
    base = f"/programme/participants/{reference}"

    unanswered = _post(staff, f"{base}/screen", {"insulin_or_sulfonylurea": "yes"})
    assert unanswered.status_code == 400
    assert len(_summary(unanswered.text)) == 3
    assert 'href="#foot_ulcer_or_sensation_loss"' in unanswered.text
    assert "goes to a clinician to sign off" in unanswered.text

    screened = _post(staff, f"{base}/screen", _no(insulin_or_sulfonylurea=True))
    assert screened.headers["location"] == f"{base}?done=screen_positive"
    page = _text(staff.get(screened.headers["location"]).text)
    assert "It found a risk, so it goes to a clinician to sign off" in page
    assert "Waiting for a clinician's sign-off." in page
    assert "a clinician's sign-off is pending." in page

    # Staff do not sign off; the clinician's list has the participant.
    assert staff.get("/programme/sign-offs").status_code == 403
    assert staff.get(f"{base}/sign-off").status_code == 403
    waiting = clinician.get("/programme/sign-offs")
    assert f'href="{base}/sign-off"' in waiting.text
    assert "Risk of hypoglycaemia during or after exercise." in waiting.text
    assert clinician.get(base).status_code == 403  # clinicians do not run the programme

    form = clinician.get(f"{base}/sign-off")
    assert "Risk of hypoglycaemia during or after exercise." in form.text
    screen_id = re.search(r'name="screen_id" value="(\d+)"', form.text).group(1)
    no_limits = _post(
        clinician,
        f"{base}/sign-off",
        {"screen_id": screen_id, "decision": "cleared_with_limits"},
    )
    assert no_limits.status_code == 400
    assert _summary(no_limits.text) == [
        "Give at least one limit, or choose cleared without limits."
    ]
    not_a_number = _post(
        clinician,
        f"{base}/sign-off",
        {"screen_id": screen_id, "decision": "cleared_with_limits", "max_daily_steps": "lots"},
    )
    assert not_a_number.status_code == 400
    assert _summary(not_a_number.text) == [
        "Enter the most steps a day as a whole number, or leave it empty."
    ]
    signed = _post(
        clinician,
        f"{base}/sign-off",
        {
            "screen_id": screen_id,
            "decision": "cleared_with_limits",
            "max_weekly_active_minutes": "150",
            "max_daily_steps": "6,000",
            "no_vigorous": "yes",
            "note": "Check glucose before a long walk.",
        },
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/programme/sign-offs?done=signed_off"
    after = clinician.get(signed.headers["location"]).text
    assert "The sign-off is recorded." in after and f'href="{base}/sign-off"' not in after

    # Still not ready: no consent. Staff record it on the version in force.
    assert "No consent to take part is recorded." in _text(staff.get(base).text)
    consent_form = staff.get(f"{base}/consent")
    assert "Do you agree to take part in Active MK?" in consent_form.text
    assert "The participant must say yes to take part." in consent_form.text
    consented = _post(staff, f"{base}/consent", _all_consent())
    assert consented.headers["location"] == f"{base}?done=consent"

    page = _text(staff.get(base).text)
    assert "Ready" in page and "Not ready" not in page
    assert "At most 150 active minutes a week." in page
    assert "At most 6,000 steps a day." in page
    assert "No vigorous activity" in page and "Check glucose before a long walk." in page
    assert "cleared with limits on the plan" in page
    history = [event.action for event in participants.history(engine, reference)]
    assert history[:3] == ["programme.consent", "programme.sign_off", "programme.screen"]
    listed = staff.get("/programme?readiness=may_rise").text
    assert f'href="{base}"' in listed


def test_consent_refused_when_unanswered_and_reconsent_when_the_version_changes(programme):
    app, _, clock = programme
    clock.now = datetime(2026, 1, 20, 9, tzinfo=UTC)  # version 1.0 in force
    reference = _enrol(app)
    base = f"/programme/participants/{reference}"
    staff = _signed_in(app, STAFF)
    form = staff.get(f"{base}/consent").text
    assert 'name="version" value="1.0"' in form
    assert "May the app read your heart rate" not in form  # that came in version 2.0

    unanswered = _post(staff, f"{base}/consent", {"version": "1.0", "programme": "yes"})
    assert unanswered.status_code == 400
    assert "Answer yes or no: May the app read your daily steps from your watch or phone?" in (
        _summary(unanswered.text)
    )
    answers = {"version": "1.0", "programme": "yes", "trial_data_sharing": "no"}
    answers |= {"scope_steps": "yes", "scope_active_minutes": "yes"}
    assert _post(staff, f"{base}/consent", answers).status_code == 303
    assert _post(staff, f"{base}/screen", _no()).status_code == 303
    assert "Ready" in _text(staff.get(base).text)

    clock.now = datetime(2026, 3, 31, 9, tzinfo=UTC)  # version 2.0 is now in force
    staff = _signed_in(app, STAFF)
    page = _text(staff.get(base).text)
    assert "Goal on hold" in page and "Must consent again" in page
    assert "has been replaced by version 2.0, in force from 1 February 2026" in page
    assert "Version 1.0: must consent again" in _text(staff.get("/programme").text)
    # A form still showing version 1.0 is refused in a sentence.
    stale = _post(staff, f"{base}/consent", answers)
    assert stale.status_code == 400
    assert _summary(stale.text) == ["Consent is recorded on the version in force (2.0), not 1.0."]
    assert _post(staff, f"{base}/consent", _all_consent()).status_code == 303
    assert "Ready" in _text(staff.get(base).text)


def test_the_consent_document_is_public_with_every_version(programme):
    app, _, _ = programme
    public = client(app)

    page = public.get("/programme/consent/2.0")
    text = _text(page.text)

    assert page.status_code == 200
    assert "Taking part in Active MK" in text and "This is the version in force" in text
    assert "May the app read your heart rate from your watch?" in text
    assert "You need to say yes to this to take part." in text
    assert 'href="/programme/consent/1.0"' in page.text and "1 September 2025" in text
    old = _text(public.get("/programme/consent/1.0").text)
    assert "It has been replaced by version 2.0" in old
    assert public.get("/programme/consent/9.9").status_code == 404
    assert public.get("/programme").status_code == 303  # staff pages need a sign-in


# --- pauses, the device route, withdrawal -------------------------------------------------------


def test_staff_cannot_end_a_hypoglycaemia_pause_but_a_clinician_can(programme):
    app, engine, _ = programme
    reference = _enrol(app)
    base = f"/programme/participants/{reference}"
    staff, clinician = _signed_in(app, STAFF), _signed_in(app, CLINICIAN)

    bad_date = _post(
        staff,
        base,
        {"reason": "hypo_or_injury", "starts_on[day]": "31", "starts_on[month]": "2"},
        f"{base}/pause",
    )
    assert bad_date.status_code == 400
    assert _summary(bad_date.text) == [
        "Enter the first day of the pause as a real date: day, month and year, like 31 3 2026."
    ]
    started = _post(
        staff,
        base,
        {
            "reason": "hypo_or_injury",
            "starts_on[day]": "30",
            "starts_on[month]": "3",
            "starts_on[year]": "2026",
            "note": "Felt shaky after a walk.",
        },
        f"{base}/pause",
    )
    assert started.headers["location"] == f"{base}?done=pause"
    page = staff.get(base).text
    assert "Only a clinician can end this pause" in page
    pause_id = participants.record(engine, reference).pauses[0].id

    day = {"last_day[day]": "31", "last_day[month]": "3", "last_day[year]": "2026"}
    refused = _post(staff, base, day, f"{base}/pauses/{pause_id}/end")
    assert refused.status_code == 400
    assert _summary(refused.text) == [
        "Only a clinician can end a pause after a hypoglycaemia or an injury."
    ]
    assert participants.record(engine, reference).pauses[0].ends_on is None

    listed = clinician.get("/programme/sign-offs").text
    action = f"{base}/pauses/{pause_id}/clinician-end"
    assert f'action="{action}"' in listed and "Felt shaky after a walk." in listed
    assert clinician.post(f"{base}/pauses/{pause_id}/end", data=day).status_code == 403
    ended = _post(clinician, "/programme/sign-offs", day, action)
    assert ended.headers["location"] == "/programme/sign-offs?done=pause_end"
    pause = participants.record(engine, reference).pauses[0]
    assert (pause.ends_on, pause.ended_by) == (date(2026, 3, 31), CLINICIAN)
    assert f'action="{action}"' not in clinician.get("/programme/sign-offs").text

    # A holiday pause, staff end themselves.
    holiday = {"reason": "holiday", "starts_on[day]": "31", "starts_on[month]": "3"}
    holiday["starts_on[year]"] = "2026"
    assert _post(staff, base, holiday, f"{base}/pause").status_code == 303
    assert "From 31 March 2026, with no last day yet." in _text(staff.get(base).text)
    second = participants.record(engine, reference).pauses[-1].id
    assert _post(staff, base, day, f"{base}/pauses/{second}/end").status_code == 303
    assert _post(staff, base, day, f"{base}/pauses/999/end").status_code == 404


def test_device_route_is_changed_and_recorded(programme):
    app, engine, _ = programme
    reference = _enrol(app)
    base = f"/programme/participants/{reference}"
    staff = _signed_in(app, STAFF)

    nowhere = _post(staff, base, {"device_route": "pigeon"}, f"{base}/device")
    changed = _post(staff, base, {"device_route": "loaned_device"}, f"{base}/device")

    assert nowhere.status_code == 400
    assert _summary(nowhere.text)[0].startswith("Choose a device route: Apple Watch")
    assert changed.headers["location"] == f"{base}?done=device"
    assert participants.record(engine, reference).device_route == "loaned_device"
    page = _text(staff.get(base).text)
    assert "Device route changed" in page and "from: garmin; to: loaned_device" in page


def test_withdrawal_says_what_each_level_does_and_stops_the_programme(programme):
    app, engine, _ = programme
    reference = _enrol(app)
    base = f"/programme/participants/{reference}"
    staff = _signed_in(app, STAFF)
    form = staff.get(f"{base}/withdraw").text
    for effect in ("Data already collected is kept, and data", "deletes the participant's"):
        assert effect in form.replace("&#39;", "'")

    unchosen = _post(staff, f"{base}/withdraw", {"reason": "Moving away"})
    assert unchosen.status_code == 400 and 'href="#level"' in unchosen.text
    withdrawn = _post(
        staff, f"{base}/withdraw", {"level": "data_collection", "reason": "Moving away"}
    )
    assert withdrawn.headers["location"] == f"{base}?done=withdrawn"
    page = _text(staff.get(base).text)
    assert "Not ready" in page and "Withdrew (stop data collection) on 31 March 2026." in page
    assert "Stop the programme" in page and "Stop data collection" in page
    assert "Reason: Moving away" in page
    assert f'href="{base}/screen"' not in page

    again = _post(staff, f"{base}/withdraw", {"level": "programme"})
    assert again.status_code == 400
    assert _summary(again.text) == [
        f"{reference} had already withdrawn at this level or a higher one, so nothing changed."
    ]
    screened = _post(staff, f"{base}/withdraw", _no(), f"{base}/screen")
    assert _summary(screened.text) == [
        f"{reference} has withdrawn, so a screen cannot be recorded."
    ]
    levels = [w.level for w in participants.record(engine, reference).withdrawals]
    assert levels == ["programme", "data_collection"]


# --- identities and the list ------------------------------------------------------------------


def test_identity_page_is_for_named_permissions_and_every_view_is_audited(programme):
    app, engine, _ = programme
    reference = _enrol(app)
    path = f"/programme/participants/{reference}/identity"

    staff = _signed_in(app, STAFF)
    page = staff.get(path)
    text = _text(page.text)
    assert page.status_code == 200
    assert "Ada Example" in text and "999 000 0018" in text and "1 June 1958" in text
    assert "ada@example.com" in text and "None given" in text  # no mobile

    with Session(engine) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    views = [(e.actor, e.action, e.target) for e in events if e.actor == STAFF]
    assert (STAFF, "page.view", path) in views
    assert (STAFF, "programme.view_identity", reference) in views
    # The trial manager may see identities, but does not run the programme.
    manager = _signed_in(app, "r-trial-manager")
    assert manager.get(path).status_code == 200
    assert manager.get(f"/programme/participants/{reference}").status_code == 403
    assert _signed_in(app, "r-analyst").get(path).status_code == 403
    assert "Identity viewed" in _text(staff.get(f"/programme/participants/{reference}").text)


def test_participant_list_counts_and_filters_by_readiness(programme):
    app, _, _ = programme
    ready, held, waiting = (
        _enrol(app, n, g) for n, g in zip(PEOPLE, ("Ada", "Bo", "Cy"), strict=True)
    )
    staff = _signed_in(app, STAFF)
    for reference in (ready, held):
        base = f"/programme/participants/{reference}"
        assert _post(staff, f"{base}/screen", _no()).status_code == 303
        assert _post(staff, f"{base}/consent", _all_consent()).status_code == 303
    pause = {"reason": "unwell", "starts_on[day]": "31", "starts_on[month]": "3"}
    pause["starts_on[year]"] = "2026"
    base = f"/programme/participants/{held}"
    assert _post(staff, base, pause, f"{base}/pause").status_code == 303

    everyone = _text(staff.get("/programme").text)
    assert "All (3)" in everyone and "Ready (1)" in everyone
    assert "Goal on hold (1)" in everyone and "Not ready (1)" in everyone
    assert "Paused: unwell." in everyone and "Version 2.0" in everyone
    assert "None recorded" in everyone and "31 March 2026" in everyone
    for chosen, shown in (("may_rise", ready), ("hold", held), ("not_ready", waiting)):
        page = staff.get(f"/programme?readiness={chosen}").text
        listed = set(re.findall(r'href="/programme/participants/(AMK-\d+)"', page))
        assert listed == {shown}, chosen
    unknown = staff.get("/programme?readiness=sometimes").text
    assert len(set(re.findall(r'href="/programme/participants/(AMK-\d+)"', unknown))) == 3
    assert 'href="/programme/enrol"' in unknown


def test_navigation_shows_the_programme_to_staff_and_sign_offs_to_clinicians(programme):
    app, _, _ = programme
    staff = _signed_in(app, STAFF).get("/").text
    clinician = _signed_in(app, CLINICIAN).get("/").text
    analyst = _signed_in(app, "r-analyst").get("/").text

    assert 'href="/programme"' in staff and 'href="/programme/sign-offs"' not in staff
    assert 'href="/programme/sign-offs"' in clinician and 'href="/programme"' not in clinician
    assert "/programme" not in analyst
