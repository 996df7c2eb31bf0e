"""The sync API through HTTP: tokens, repeats, limits, refusals that store nothing,
consent and withdrawal, and the OpenAPI document; then run-due makes the days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mkdeal.activity import consent, participants, sync
from mkdeal.activity.ingest import ingest, raw_path
from mkdeal.activity.participants import Identity
from mkdeal.activity.programme import Eligibility
from mkdeal.appdb.models import AuditEvent, DeviceToken, SyncInbox
from mkdeal.db import IDENTIFIABLE_STORE, open_app_database, open_store, upgrade
from mkdeal.people import Pseudonymiser
from mkdeal.web.app import create_app

from .test_activity_days import MAR2, MAR3, STEPS, _stat, healthkit
from .test_web import Clock

NOW = datetime(2026, 3, 3, 8, tzinfo=UTC)
PAYLOAD = healthkit("P1D", _stat(STEPS, MAR2, MAR3, 6012, [("Watch", 5200), ("iPhone", 3100)]))
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(settings):
    upgrade(settings)
    engine = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    participants.load_practices(engine, [("Z90001", "Synthetic practice 1")], NOW)
    pseudonymiser = Pseudonymiser(settings.pseudonymisation_key)
    made = {}
    for number, nhs in ((1, "9990000018"), (2, "9990000026")):
        reference = participants.enrol(
            engine, identifiable, pseudonymiser,
            Identity(nhs, "Ada", "Example", date(1958, 6, 1), f"p{number}@example.com"),
            Eligibility(date(1958, 6, 1), True, "Z90001", "apple_watch_iphone", True),
            actor="sam", now=NOW, today=NOW.date(),
        )  # fmt: skip
        made[reference] = sync.issue_token(engine, reference, "Apple Watch", actor="sam", now=NOW)
    clock = Clock()
    clock.now = NOW
    app = create_app(settings, clock=clock)
    yield TestClient(app, follow_redirects=False), engine, made, clock, settings
    engine.dispose()
    identifiable.dispose()


def _consent(engine, reference, at=NOW, version="2.0", **no):
    answers = {item: item not in no for item in consent.document(version).item_ids}
    participants.record_consent(
        engine, reference, version, answers, actor="sam", now=at, today=at.date()
    )


def _send(client, token, body=PAYLOAD, source="healthkit", headers=JSON):
    return client.post(
        f"/api/v1/activity/{source}",
        content=body,
        headers={**headers, "Authorization": f"Bearer {token}"},
    )


def _stored(engine, settings) -> tuple[int, int]:
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(SyncInbox))
    files = len(list((settings.data_dir / "raw").rglob("*.json")))
    return rows, files


def test_a_payload_is_kept_unchanged_once_and_ingested_later(api):
    client, engine, tokens, _, settings = api
    _consent(engine, "AMK-00001")
    first = _send(client, tokens["AMK-00001"])
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "received"
    again = _send(client, tokens["AMK-00001"])
    assert (again.status_code, again.json()) == (
        200,
        {"inbox_id": first.json()["inbox_id"], "status": "already received"},
    )
    assert _stored(engine, settings) == (1, 1)
    with Session(engine) as session:
        row = session.scalar(select(SyncInbox))
    assert raw_path(settings.data_dir, row.content_hash).read_bytes() == PAYLOAD
    assert row.status == "pending" and row.token_id is not None
    done = ingest(engine, settings.data_dir, as_of=date(2026, 3, 3), now=NOW)
    assert (done.payloads, done.versions) == (1, 1)
    # A FHIR Bundle from the same participant.
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "41950-7"}]},
        "effectiveDateTime": "2026-03-01", "valueQuantity": {"value": 4000}}}]}  # fmt: skip
    fhir = _send(client, tokens["AMK-00001"], json.dumps(bundle).encode(), "fhir",
                 {"Content-Type": "application/fhir+json"})  # fmt: skip
    assert fhir.status_code == 202, fhir.text


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        (b"{not json", JSON, 422, "not JSON"),
        (b'{"format": "healthkit-statistics", "version": 1}', JSON, 422, "interval"),
        (b'{"format": "garmin-fit", "version": 1}', JSON, 422, '"format": "healthkit-statistics"'),
        (
            healthkit("P1D", _stat(STEPS, MAR2, MAR3, -1)),
            JSON,
            422,
            "not a whole number of 0 or more",
        ),
        (
            json.dumps(
                {
                    "format": "healthkit-statistics",
                    "version": 1,
                    "interval": "P1D",
                    "statistics": [{"type": STEPS, "start": MAR2, "end": MAR3}],
                }
            ).encode(),
            JSON,
            422,
            "no merged sum",
        ),
        (PAYLOAD, {"Content-Type": "text/plain"}, 415, "application/json"),
        (b"{" + b" " * (256 * 1024) + b"}", JSON, 413, "over 256 KiB"),
    ],
)
def test_malformed_or_oversized_payloads_get_a_4xx_and_nothing_is_stored(
    api, body, headers, status, words
):
    client, engine, tokens, _, settings = api
    _consent(engine, "AMK-00001")
    response = _send(client, tokens["AMK-00001"], body, headers=headers)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert _stored(engine, settings) == (0, 0)


def test_a_body_without_a_length_is_cut_off_at_the_limit(api):
    """A chunked body declares no Content-Length: the limit is checked while reading."""
    client, engine, tokens, _, settings = api
    _consent(engine, "AMK-00001")

    def chunks():
        for _ in range(300):
            yield b" " * 1024

    response = client.post(
        "/api/v1/activity/healthkit",
        content=chunks(),
        headers={**JSON, "Authorization": f"Bearer {tokens['AMK-00001']}"},
    )
    assert response.status_code == 413 and "over 256 KiB" in response.json()["error"]
    assert _stored(engine, settings) == (0, 0)


def test_tokens_unknown_missing_revoked_or_another_source_are_refused(api):
    client, engine, tokens, _, settings = api
    _consent(engine, "AMK-00001")
    assert _send(client, "amk_not-a-real-token").status_code == 401
    response = client.post("/api/v1/activity/healthkit", content=PAYLOAD, headers=JSON)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert _send(client, tokens["AMK-00001"], source="manual").status_code == 404
    with Session(engine) as session:
        token_id = session.scalar(select(DeviceToken.id).where(DeviceToken.label == "Apple Watch"))
    assert sync.revoke_token(engine, "AMK-00001", token_id, actor="sam", now=NOW)
    assert _send(client, tokens["AMK-00001"]).status_code == 401
    assert _stored(engine, settings) == (0, 0)
    with Session(engine) as session:
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.target == "AMK-00001"))
        )
    assert actions.count("programme.token_issue") == 1 and "programme.token_revoke" in actions
    # Only the hash of a token is stored.
    with Session(engine) as session:
        hashes = list(session.scalars(select(DeviceToken.token_hash)))
    assert tokens["AMK-00001"] not in hashes and all(len(h) == 64 for h in hashes)


def test_no_data_after_stopping_collection_or_before_consenting_again(api):
    client, engine, tokens, _, settings = api
    assert "not consented" in _send(client, tokens["AMK-00001"]).json()["error"]
    _consent(engine, "AMK-00001")
    participants.withdraw(engine, "AMK-00001", "programme", "", actor="sam", now=NOW)
    assert _send(client, tokens["AMK-00001"]).status_code == 202  # follow-up data still in
    participants.withdraw(engine, "AMK-00001", "data_collection", "", actor="sam", now=NOW)
    refused = _send(client, tokens["AMK-00001"], healthkit("P1D", _stat(STEPS, MAR2, MAR3, 9)))
    assert refused.status_code == 403
    assert refused.json()["error"] == (
        "The participant has stopped data collection. Nothing was stored."
    )
    # Consent under 1.0 before 2.0 came into force: must consent again from 1 February.
    _consent(engine, "AMK-00002", at=datetime(2026, 1, 10, tzinfo=UTC), version="1.0")
    outdated = _send(client, tokens["AMK-00002"])
    assert outdated.status_code == 403 and "consent again" in outdated.json()["error"]
    assert _stored(engine, settings) == (1, 1)


def test_data_the_participant_did_not_agree_to_share_is_refused(api):
    client, engine, tokens, _, settings = api
    _consent(engine, "AMK-00002", scope_heart_rate=False)
    wear = healthkit("P1D", _stat("mkdeal.wearMinutes", MAR2, MAR3, 700))
    response = _send(client, tokens["AMK-00002"], wear)
    assert response.status_code == 403
    assert response.json()["error"] == (
        "The participant has not agreed to share heart rate (wear time). Nothing was stored."
    )
    assert _send(client, tokens["AMK-00002"]).status_code == 202  # steps are agreed
    assert _stored(engine, settings) == (1, 1)


def test_openapi_document_describes_the_endpoint_and_its_statuses(api):
    client = api[0]
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/activity/{source}"]["post"]
    assert set(operation["responses"]) >= {"200", "202", "401", "403", "413", "415", "422"}
    assert document["components"]["securitySchemes"]["deviceToken"]["scheme"] == "bearer"
    assert set(operation["requestBody"]["content"]) == {"application/json", "application/fhir+json"}
    assert list(document["paths"]) == ["/api/v1/activity/{source}"]


def _staff(client, engine):
    from mkdeal.access import accounts

    from .test_web import CHEAP, PASSWORD, sign_in

    accounts.add_user(
        engine, "sam", "Sam Staff", PASSWORD, organisations=["QHG"],
        roles=["programme_staff"], actor="test", hasher=CHEAP,
    )  # fmt: skip
    assert sign_in(client, "sam").status_code == 303


def test_staff_issue_a_token_shown_once_see_days_enter_one_by_hand_and_revoke(api):
    from .test_web import csrf

    client, engine, _, _, settings = api
    _consent(engine, "AMK-00001")
    _staff(client, engine)
    page = client.get("/programme/participants/AMK-00001/activity")
    assert page.status_code == 200 and "No days in the last 42 days." in page.text
    token = csrf(page.text)
    refused = client.post(
        "/programme/participants/AMK-00001/tokens", data={"csrf_token": token, "label": ""}
    )
    assert refused.status_code == 400 and "Name the device" in refused.text
    issued = client.post(
        "/programme/participants/AMK-00001/tokens",
        data={"csrf_token": token, "label": "Loaned phone 12"},
    )
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    new = issued.text.split('class="mkdeal-token">')[1].split("<")[0]
    assert new.startswith("amk_")
    assert new not in client.get("/programme/participants/AMK-00001/activity").text
    assert _send(client, new).status_code == 202
    # Staff enter a day by hand: refused without a reason, then recorded as manual.
    entry = {"csrf_token": token, "day[day]": "1", "day[month]": "3", "day[year]": "2026"}
    missing = client.post("/programme/participants/AMK-00001/activity/enter", data=entry)
    assert missing.status_code == 400
    assert "Enter the steps or the active minutes" in missing.text
    assert "Say why the day is entered by hand" in missing.text
    entry.update(steps="4,100", reason="The watch strap broke")
    done = client.post("/programme/participants/AMK-00001/activity/enter", data=entry)
    assert done.status_code == 303
    with Session(engine) as session:
        manual = session.scalar(select(SyncInbox).where(SyncInbox.source == "manual"))
    assert (manual.entered_by, manual.token_id) == ("sam", None)
    ingest(engine, settings.data_dir, as_of=date(2026, 3, 3), now=NOW)
    page = client.get("/programme/participants/AMK-00001/activity").text
    assert "Entered by staff" in page and "4,100" in page and "6,012" in page
    assert "Apple Health" in page and "Not yet" in page
    assert "No: Fewer than 1,000 steps" not in page
    # Revoke from the page: the device can no longer send.
    with Session(engine) as session:
        token_id = session.scalar(
            select(DeviceToken.id).where(DeviceToken.label == "Loaned phone 12")
        )
    revoked = client.post(
        f"/programme/participants/AMK-00001/tokens/{token_id}/revoke", data={"csrf_token": token}
    )
    assert revoked.status_code == 303
    assert _send(client, new, healthkit("P1D", _stat(STEPS, MAR2, MAR3, 1))).status_code == 401
    # Both pages audit under the staff member's name and the request (the fixture's own
    # token has no request); the token itself is in no audit row.
    with Session(engine) as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.detail)
            .where(AuditEvent.action.in_(("programme.token_issue", "programme.token_revoke")))
            .where(AuditEvent.target == "AMK-00001", AuditEvent.request_id.is_not(None))
            .order_by(AuditEvent.id)
        ).all()
    assert [(action, actor) for action, actor, _ in events] == [
        ("programme.token_issue", "sam"),
        ("programme.token_revoke", "sam"),
    ]
    assert all(new not in (detail or "") for _, _, detail in events)
