"""The participant's own page (issue 27): this week's goal and progress, recent weeks,
points and vouchers, and a voucher's code on request.

A participant signs in as a user with only the `participant` role, linked to one
participant by staff (`mkdeal programme account`). Everything shown is theirs alone, read
through `activity.participant_view`; showing a reward is what marks it notified (after
which it is never clawed back), so the page marks them once it has been rendered. Codes
are cash: one is decrypted only on a POST, for its own participant, after the view is
written to the audit log, and no page that shows one may be stored by the browser.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from mkdeal.activity import nightly, participant_view, participants
from mkdeal.activity import rewards as R
from mkdeal.activity.participants import ParticipantRecord
from mkdeal.activity.readiness import NOT_READY
from mkdeal.errors import ConfigurationError
from mkdeal.web.app import render, viewer_of
from mkdeal.web.rules import rule

router = APIRouter()
log = logging.getLogger(__name__)
NO_STORE = "no-store"
LARGEST_ID = 2**62  # larger ids cannot be in the ledger (and would overflow SQLite)


def _me(request: Request) -> ParticipantRecord | None:
    """The participant the signed-in user is, or None while staff have not linked them."""
    account = viewer_of(request).account
    if account is None:
        return None
    return participants.participant_of_user(request.app.state.engine, account.id)


def _day(on) -> str:
    return f"{on:%-d %B %Y}" if on else ""


def _monday(on) -> str:
    return f"{on:%A} {on.day} {on:%B}" if on else ""


HELPERS = {
    "pounds": R.pounds,
    "day": _day,
    "monday": _monday,
    "not_ready": NOT_READY,
    "has_goal": participant_view.has_goal,
    "not_ready_sentences": participant_view.not_ready_sentences,
}


@router.get("/me", name="me")
@rule("participant.self")
async def me(request: Request):
    engine = request.app.state.engine
    found = _me(request)
    if found is None:
        response = render(
            request, "me/unlinked.jinja", {"title": "Your sign-in is not linked to Active MK"}
        )
        response.headers["Cache-Control"] = NO_STORE
        return response
    now = request.app.state.now()
    page = participant_view.my_page(engine, found, participant_view.local_today(found, now))
    response = render(
        request,
        "me/page.jinja",
        {
            **HELPERS,
            "title": "Your Active MK goals and rewards",
            "page": page,
            "rule": nightly.REWARD_RULE,
            "counted_after": participant_view.counted_after_days(),
        },
    )
    # Rendered: what it shows is now shown, so those rewards stand from here on.
    nightly.notify(engine, found.id, now=now, channel="app")
    response.headers["Cache-Control"] = NO_STORE
    return response


@router.post("/me/vouchers/{entry_id}", name="me_voucher")
@rule("participant.self")
async def me_voucher(request: Request, entry_id: int):
    """One of the participant's voucher codes, shown after its view is audited."""
    found = _me(request)
    if found is None or not 0 < entry_id < LARGEST_ID:
        return render(request, "error.jinja", {"title": "Page not found"}, 404)
    try:
        shown = participant_view.reveal_voucher(
            request.app.state.engine,
            nightly.provider_for(request.app.state.settings),
            found,
            entry_id,
            actor=viewer_of(request).name,
            now=request.app.state.now(),
            request_id=request.state.request_id,
        )
    except ConfigurationError:
        # The key is not the one the codes were loaded under: staff must fix it.
        log.error("A voucher code could not be decrypted (request %s).", request.state.request_id)
        title = "Sorry, your voucher code cannot be shown just now"
        return render(request, "error.jinja", {"title": title}, 500)
    if shown is None:
        return render(request, "error.jinja", {"title": "Page not found"}, 404)
    voucher, code = shown
    response = render(
        request,
        "me/voucher.jinja",
        {
            **HELPERS,
            "title": f"Your {R.pounds(voucher.pence)} voucher",
            "voucher": voucher,
            "code": code,
        },
    )
    response.headers["Cache-Control"] = NO_STORE
    return response
