"""The sync API for the phone app: payloads in, kept unchanged for `run-due` to ingest.

Every request carries `Authorization: Bearer <device token>`; the route authenticates it
itself (the rule is ANYONE plus `bearer_token`), because a device has no session. The
payload is read whole and checked with its source's adapter before anything is stored,
so a refused request stores nothing. docs/activity-api.md describes it for the app's
developers; `GET /api/v1/openapi.json` is its OpenAPI document.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from mkdeal import __version__
from mkdeal.activity import sync
from mkdeal.activity.adapters import PayloadError, parse
from mkdeal.activity.consent import consent_state
from mkdeal.activity.readiness import LONDON, accepts_data
from mkdeal.web.rules import ANYONE, rule

router = APIRouter(prefix="/api/v1")
MAX_BYTES = 256 * 1024
DEVICE_SOURCES = ("healthkit", "fhir")  # staff enter manual days on the staff pages
CONTENT_TYPES = ("application/json", "application/fhir+json")
SCOPE_WORDS = {
    "scope_steps": "steps",
    "scope_active_minutes": "active minutes",
    "scope_heart_rate": "heart rate (wear time)",
}


def _error(status: int, sentence: str, **headers) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status, headers=headers or None)


async def _body(request: Request) -> bytes | None:
    """The body, or None as soon as it is longer than MAX_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


_ERRORS = {
    "401": {"description": "No device token, or one that is unknown or revoked."},
    "403": {
        "description": "The participant stopped data collection, must consent again, or "
        "has not agreed to share a kind of data the payload holds. Nothing is stored."
    },
    "404": {"description": "The source is not healthkit or fhir."},
    "413": {"description": f"The payload is over {MAX_BYTES // 1024} KiB."},
    "415": {"description": "The body is not application/json or application/fhir+json."},
    "422": {"description": "The payload cannot be read; the error says where and why."},
}


@router.post(
    "/activity/{source}",
    name="api_activity",
    summary="Send activity data",
    description="A HealthKit statistics upload (source `healthkit`) or FHIR R4 "
    "Observations of steps (source `fhir`) for the token's participant. The bytes are "
    "kept unchanged and ingested later; sending the same bytes again changes nothing.",
    responses={
        "200": {"description": "These bytes were received before; nothing changed."},
        "202": {"description": "Received; the days are updated at the next ingestion."},
        **_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {kind: {"schema": {"type": "object"}} for kind in CONTENT_TYPES},
        },
        "security": [{"deviceToken": []}],
    },
)
@rule(ANYONE, bearer_token=True)
async def api_activity(request: Request, source: str):
    if source not in DEVICE_SOURCES:
        return _error(404, f"The source must be one of {', '.join(DEVICE_SOURCES)}.")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    now = request.app.state.now()
    sender = (
        sync.authenticate(request.app.state.engine, token.strip(), now)
        if scheme.lower() == "bearer"
        else None
    )
    if sender is None:
        return _error(
            401,
            "Send a valid device token as 'Authorization: Bearer <token>'.",
            **{"WWW-Authenticate": "Bearer"},
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in CONTENT_TYPES:
        return _error(415, f"Send the payload as {' or '.join(CONTENT_TYPES)}.")
    body = await _body(request)
    if body is None:
        return _error(413, f"The payload is over {MAX_BYTES // 1024} KiB; send fewer days at once.")
    accepted, why = accepts_data(sender.state, now)
    if not accepted:
        return _error(403, f"{why} Nothing was stored.")
    try:
        parsed = parse(source, body, sender.time_zone)
    except PayloadError as error:
        return _error(422, str(error))
    agreed = consent_state(sender.state.choices, now.astimezone(LONDON).date()).agreed
    refused = sorted(parsed.scopes - agreed)
    if refused:
        kinds = ", ".join(SCOPE_WORDS[s] for s in refused)
        return _error(403, f"The participant has not agreed to share {kinds}. Nothing was stored.")
    inbox_id, already = sync.receive(
        request.app.state.engine,
        request.app.state.settings.data_dir,
        sender.participant_id,
        source,
        body,
        now=now,
        token_id=sender.token_id,
    )
    if already:
        return JSONResponse({"inbox_id": inbox_id, "status": "already received"}, 200)
    return JSONResponse({"inbox_id": inbox_id, "status": "received"}, 202)


@router.get("/openapi.json", name="api_openapi", include_in_schema=False)
@rule(ANYONE)
async def api_openapi(request: Request):
    """The sync API's OpenAPI document (only the API's own routes)."""
    document = get_openapi(
        title="mkdeal sync API",
        version=__version__,
        description="Activity data from the Active MK phone app. See docs/activity-api.md.",
        routes=router.routes,
    )
    document.setdefault("components", {})["securitySchemes"] = {
        "deviceToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "A device token staff issue.",
        }
    }
    return JSONResponse(document)


def post_in_process(app, path: str, token: str, body: bytes, content_type: str) -> tuple[int, dict]:
    """POST to the API through the app itself, with no network: the synthetic devices of
    the demo send their data this way, so it meets every check a phone's does."""
    import asyncio
    import json

    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: dict = {"body": b""}

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return sent["status"], json.loads(sent["body"] or b"{}")
