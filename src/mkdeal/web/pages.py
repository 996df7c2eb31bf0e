"""The Deal's pages, sign-in, and health checks. Routes are thin: data comes from the Deal
file, the app database and published snapshots; every route declares its rule."""

from __future__ import annotations

import io
import re
import tarfile
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from mkdeal import __version__, measure_views
from mkdeal.access import accounts, audit, sessions
from mkdeal.db import APP_DATABASE, current_revision, head_revision
from mkdeal.deal import load_deal
from mkdeal.errors import UserError
from mkdeal.publish import current_snapshot_id, open_snapshot
from mkdeal.reports import register
from mkdeal.reports.content import month_words
from mkdeal.web.app import render, set_session_cookie, viewer_of
from mkdeal.web.rules import ANYONE, SIGNED_IN, rule

router = APIRouter()
_BLANK_LINES = re.compile(r"[ \t]*\n\s*")


@router.get("/", name="home")
@rule("deal.view")
async def home(request: Request):
    deal = load_deal()
    partners = {partner.id: partner for partner in deal.partners}
    return render(
        request, "home.jinja", {"title": "The MK Deal", "deal": deal, "partners": partners}
    )


@router.get("/priorities/{priority_id}", name="priority")
@rule("deal.view")
async def priority(request: Request, priority_id: str):
    deal = load_deal()
    found = next((p for p in deal.priorities if p.id == priority_id), None)
    if found is None:
        return render(request, "error.jinja", {"title": "Page not found"}, 404)
    partners = {partner.id: partner for partner in deal.partners}
    data = measure_views.published(request.app.state.settings.data_dir)
    unsuppressed = viewer_of(request).can("measures.view_unsuppressed")
    cards = []
    if data is not None and viewer_of(request).can("measures.view_published"):
        cards = [measure_views.measure_card(data, m, unsuppressed) for m in found.measure_ids]
        cards = [card for card in cards if card is not None]
    return render(
        request,
        "priority.jinja",
        {
            "title": found.name,
            "priority": found,
            "partners": partners,
            "cards": cards,
            "unsuppressed": unsuppressed,
        },
    )


@router.get("/measures/{measure_id}", name="measure")
@rule("measures.view_published")
async def measure(request: Request, measure_id: str):
    """A measure's chart, figures, breakdowns and deprivation gap, as the viewer may see."""
    data = measure_views.published(request.app.state.settings.data_dir)
    unsuppressed = viewer_of(request).can("measures.view_unsuppressed")
    page = measure_views.measure_page(data, measure_id, unsuppressed) if data else None
    if page is None:
        return render(request, "error.jinja", {"title": "Page not found"}, 404)
    priority = next((p for p in load_deal().priorities if measure_id in p.measure_ids), None)
    environment = request.app.state.templates.env
    body = data.remembered(
        ("body", measure_id, unsuppressed),
        lambda: Markup(
            # The NHS.UK macros indent generously: runs of blank space go, which makes the
            # page about a third of the size and changes nothing a browser shows.
            _BLANK_LINES.sub(
                "\n",
                environment.get_template("_measure_body.jinja").render(
                    page=page, unsuppressed=unsuppressed
                ),
            )
        ),
    )
    return render(
        request,
        "measure.jinja",
        {"title": page["card"]["title"], "body": body, "priority": priority},
    )


@router.get("/measures/{measure_id}/data.csv", name="measure_csv")
@rule("measures.view_published")
async def measure_csv(request: Request, measure_id: str):
    data = measure_views.published(request.app.state.settings.data_dir)
    if data is None or data.definition(measure_id) is None:
        return render(request, "error.jinja", {"title": "Page not found"}, 404)
    unsuppressed = viewer_of(request).can("measures.view_unsuppressed")
    return Response(
        measure_views.measure_csv(data, measure_id, unsuppressed),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{measure_id}.csv"'},
    )


@router.get("/reports", name="reports")
@rule("reports.view")
async def reports(request: Request):
    """The progress reports issued, the latest first, to read or download."""
    entries = register.issued(request.app.state.settings.data_dir)
    issued = sorted(entries, key=lambda e: (e.month, entries.index(e)), reverse=True)
    latest = register.latest(entries, "pdf")
    return render(
        request,
        "reports.jinja",
        {
            "title": "Progress reports",
            "issued": issued,
            "latest": latest,
            "month_words": month_words,
        },
    )


@router.get("/reports/{name}", name="report_file")
@rule("reports.view")
async def report_file(request: Request, name: str):
    """One issued report's file; only names the register holds are served."""
    data_dir = request.app.state.settings.data_dir
    for entry in register.issued(data_dir):
        for fmt, file in entry.files.items():
            path = register.reports_dir(data_dir) / file
            if file == name and path.is_file():
                return FileResponse(
                    path,
                    media_type="application/pdf" if fmt == "pdf" else "text/html; charset=utf-8",
                    filename=file,
                    content_disposition_type="attachment",
                )
    return render(request, "error.jinja", {"title": "Page not found"}, 404)


@router.get("/methodology", name="methodology")
@rule("deal.view")
async def methodology(request: Request):
    data = measure_views.published(request.app.state.settings.data_dir)
    definitions = []
    if data is not None and not data.table("measure_definitions").empty:
        definitions = data.table("measure_definitions").sort_values("id").to_dict("records")
    return render(
        request,
        "methodology.jinja",
        {"title": "How to read the measures", "definitions": definitions},
    )


@router.get("/accessibility", name="accessibility")
@rule("deal.view")
async def accessibility(request: Request):
    return render(request, "accessibility.jinja", {"title": "Accessibility statement"})


@router.get("/sign-in", name="sign_in")
@rule(ANYONE)
async def sign_in_page(request: Request, next: str = "/"):
    return render(request, "sign_in.jinja", {"title": "Sign in", "next": _safe_next(next)})


@router.post("/sign-in", name="sign_in_submit")
@rule(ANYONE)
async def sign_in_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
):
    app = request.app
    address = request.client.host if request.client else "unknown"
    context = {"title": "Sign in", "next": _safe_next(next), "username": username}
    try:
        user_id = accounts.authenticate(
            app.state.engine, username, password, address=address, now=app.state.now()
        )
    except accounts.SignInThrottled as throttled:
        minutes = max(1, int(throttled.retry_after / timedelta(minutes=1)) + 1)
        audit.record(app.state.engine, username[:100] or "-", "sign_in.throttled", address)
        context["error"] = (
            f"There have been too many failed attempts to sign in. Try again in {minutes} minutes."
        )
        return render(request, "sign_in.jinja", context, 429)
    except accounts.SignInRefused:
        audit.record(app.state.engine, username[:100] or "-", "sign_in.failed", address)
        context["error"] = "The user name or password is not right, or the account is disabled."
        return render(request, "sign_in.jinja", context, 400)
    # A new session token at every sign-in; one the browser held before is ended, so a
    # token planted or left behind is worthless after it.
    previous = viewer_of(request).session_token
    if previous:
        sessions.end(app.state.engine, previous, app.state.now())
    token = sessions.start(app.state.engine, user_id, app.state.now())
    audit.record(
        app.state.engine,
        username.strip().lower(),
        "sign_in",
        address,
        request_id=request.state.request_id,
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, token)
    return response


@router.post("/sign-out", name="sign_out")
@rule(SIGNED_IN)
async def sign_out(request: Request):
    viewer = viewer_of(request)
    sessions.end(request.app.state.engine, viewer.session_token, request.app.state.now())
    audit.record(request.app.state.engine, viewer.name, "sign_out")
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, None)
    return response


@router.get("/loads", name="loads")
@rule("loads.view")
async def loads(request: Request):
    """A partner's own loads and quarantine counts, from the published snapshot."""
    viewer = viewer_of(request)
    data_dir = request.app.state.settings.data_dir
    rows, summary = [], {}
    if current_snapshot_id(data_dir) is not None:
        snapshot = open_snapshot(data_dir)
        if "loads" in snapshot.table_names:
            rows = snapshot.table("loads").to_pylist()
            for reason in snapshot.table("quarantine_summary").to_pylist():
                summary.setdefault(reason["load_id"], []).append(reason)
    if not viewer.can("loads.view_all"):
        rows = [row for row in rows if row["source"] in viewer.account.organisation_codes]
    rows.sort(key=lambda row: (row["loaded_at"], row["load_id"]), reverse=True)
    everyone = viewer.can("loads.view_all")
    data = measure_views.published(data_dir)
    trusted = measure_views.trusted_periods(data) if data is not None else []
    return render(
        request,
        "loads.jinja",
        {
            "title": "Data quality: loads",
            "loads": rows,
            "reasons": summary,
            "everyone": everyone,
            "trusted": trusted,
        },
    )


@router.get("/audit", name="audit_log")
@rule("audit.view", sensitive=True)
async def audit_log(request: Request):
    events = audit.recent(request.app.state.engine, 200)
    return render(request, "audit.jinja", {"title": "Audit log", "events": events})


@router.get("/source", name="source")
@rule(ANYONE)
async def source(request: Request):
    """The running version's source code, as the AGPL asks of a network service."""
    package = Path(str(files("mkdeal")))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.add(
                    path, arcname=f"mkdeal-{__version__}/{path.relative_to(package.parent)}"
                )
    return Response(
        buffer.getvalue(),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="mkdeal-{__version__}.tar.gz"'},
    )


@router.get("/healthz", name="healthz")
@rule(ANYONE)
async def healthz(request: Request):
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/readyz", name="readyz")
@rule(ANYONE)
async def readyz(request: Request):
    """Ready when the app database answers and the current snapshot can be read."""
    checks = {}
    try:
        with request.app.state.engine.connect() as connection:
            current = current_revision(APP_DATABASE, connection)
        head = head_revision(APP_DATABASE)
        checks["app_database"] = "ok" if current == head else f"at {current}, needs {head}"
    except Exception as error:  # report, never raise: this page is for monitors
        checks["app_database"] = f"unavailable: {type(error).__name__}"
    try:
        snapshot = open_snapshot(request.app.state.settings.data_dir)
        checks["published_snapshot"] = f"ok: {snapshot.id}"
    except UserError as error:
        checks["published_snapshot"] = f"unavailable: {error}"
    ready = all(value.startswith("ok") for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def _safe_next(target: str) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
