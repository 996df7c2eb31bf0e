"""The FastAPI application: middleware, the one permission check, errors as NHS.UK pages."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from mkdeal import __version__
from mkdeal.access import accounts, audit, sessions
from mkdeal.access.accounts import Account
from mkdeal.access.roles import role_book
from mkdeal.db import IDENTIFIABLE_STORE, open_app_database, open_store
from mkdeal.settings import Settings
from mkdeal.web.rules import ANYONE, SIGNED_IN, is_sensitive, rule_of, uses_bearer_token
from mkdeal.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    CookieSigner,
    new_token,
    security_headers,
)

log = logging.getLogger("mkdeal.web")
access_log = logging.getLogger("mkdeal.web.access")
STATIC = Path(str(files("mkdeal.web").joinpath("static")))
TEMPLATES = Path(str(files("mkdeal.web").joinpath("templates")))
NHSUK_TEMPLATES = Path(str(files("nhsuk_frontend_jinja").joinpath("templates")))


class NotSignedIn(Exception):
    pass


class Forbidden(Exception):
    pass


class CsrfFailed(Exception):
    pass


class Viewer:
    """Who is asking: an account, or the public; and the tokens bound to them."""

    def __init__(self, account: Account | None, session_token: str | None, pre_token: str) -> None:
        self.account = account
        self.session_token = session_token
        self.pre_token = pre_token
        self.permissions = (
            account.permissions if account else role_book().permissions_of(frozenset())
        )

    @property
    def name(self) -> str:
        return self.account.username if self.account else "public"

    def can(self, permission: str) -> bool:
        return permission in self.permissions


# Sixteen letters stand in for the hex digits: an id made of digits could hold ten in a
# row, which the log filter would redact as an NHS number, and the logged id would then
# no longer match the X-Request-Id header it is meant to trace.
_ID_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def new_request_id() -> str:
    """A random 64-bit request id written in the letters a to p, never in digits."""
    return secrets.token_hex(8).translate(_ID_LETTERS)


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The web service for these settings; `clock` gives "now" (tests move it)."""
    settings.require_keys()
    engine = open_app_database(settings)
    signer = CookieSigner(settings.secret_key)
    now = clock or (lambda: datetime.now(UTC))
    secure_cookies = settings.env == "prod"

    app = FastAPI(
        title="mkdeal",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(_enforce_rule)],
    )
    app.state.settings = settings
    app.state.engine = engine
    # Names, NHS numbers and contact details: read only by routes whose rule names a
    # permission such as programme.view_identity (DESIGN.md, "Stores").
    app.state.identifiable = open_store(IDENTIFIABLE_STORE, settings)
    app.state.signer = signer
    app.state.now = now
    app.state.secure_cookies = secure_cookies
    app.state.templates = _templates()
    app.mount("/assets", StaticFiles(directory=STATIC / "assets"), name="assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def request_context(request: Request, call_next):
        started = time.perf_counter()
        request.state.request_id = request.headers.get("X-Request-Id", "")[:40] or new_request_id()
        request.state.csp_nonce = secrets.token_urlsafe(16)
        pre = signer.unsign(request.cookies.get(PRE_SESSION_COOKIE))
        request.state.new_pre_token = pre is None
        request.state.pre_token = pre or new_token()
        try:
            response = await call_next(request)
        except Exception:
            log.exception("Unhandled error on request %s", request.state.request_id)
            response = render(
                request, "error.jinja", {"title": "Sorry, there is a problem with the service"}, 500
            )
        for name, value in security_headers(request.state.csp_nonce).items():
            response.headers.setdefault(name, value)
        response.headers["X-Request-Id"] = request.state.request_id
        if request.state.new_pre_token:
            response.set_cookie(
                PRE_SESSION_COOKIE,
                signer.sign(request.state.pre_token),
                httponly=True,
                samesite="strict",
                secure=secure_cookies,
            )
        viewer = getattr(request.state, "viewer", None)
        access_log.info(
            json.dumps(
                {
                    "request_id": request.state.request_id,
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "user": viewer.name if viewer else None,
                }
            )
        )
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _error: NotSignedIn):
        return RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _error: Forbidden):
        return render(
            request, "forbidden.jinja", {"title": "You do not have access to this page"}, 403
        )

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _error: CsrfFailed):
        context = {"title": "This form has expired", "csrf": True}
        return render(request, "forbidden.jinja", context, 403)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        titles = {404: "Page not found", 405: "This page cannot do that"}
        title = titles.get(error.status_code, "Sorry, there is a problem with the service")
        return render(request, "error.jinja", {"title": title}, error.status_code)

    from mkdeal.web import api, me, programme
    from mkdeal.web.pages import router

    app.include_router(router)
    app.include_router(programme.router)
    app.include_router(me.router)
    app.include_router(api.router)
    return app


def _templates() -> Jinja2Templates:
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(str(TEMPLATES)),
                jinja2.FileSystemLoader(str(NHSUK_TEMPLATES)),
                jinja2.FileSystemLoader(str(NHSUK_TEMPLATES / "nhsuk")),
            ]
        ),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
    )
    return Jinja2Templates(env=environment)


def viewer_of(request: Request) -> Viewer:
    """The viewer of this request, read once from the session cookie."""
    if getattr(request.state, "viewer", None) is not None:
        return request.state.viewer
    app = request.app
    token = app.state.signer.unsign(request.cookies.get(SESSION_COOKIE))
    account = None
    if token:
        user_id = sessions.user_of(app.state.engine, token, app.state.now())
        account = accounts.account(app.state.engine, user_id) if user_id else None
        if account is None:
            token = None
    request.state.viewer = Viewer(account, token, request.state.pre_token)
    return request.state.viewer


async def _enforce_rule(request: Request) -> None:
    """The one permission check: the route's rule against the viewer's permissions."""
    endpoint = request.scope.get("endpoint")
    requirement = rule_of(endpoint)
    viewer = viewer_of(request)
    if requirement is None:
        raise Forbidden()  # fail closed: a route without a rule is nobody's
    if requirement != ANYONE:
        if requirement == SIGNED_IN:
            if viewer.account is None:
                raise NotSignedIn()
        elif not viewer.can(requirement):
            raise NotSignedIn() if viewer.account is None else Forbidden()
    if request.method not in ("GET", "HEAD", "OPTIONS") and not uses_bearer_token(endpoint):
        await _check_csrf(request, viewer)
    if is_sensitive(endpoint):
        audit.record(
            request.app.state.engine,
            viewer.name,
            "page.view",
            request.url.path,
            request_id=request.state.request_id,
        )


async def _check_csrf(request: Request, viewer: Viewer) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        given = form.get(CSRF_FIELD)
    bound_to = viewer.session_token or viewer.pre_token
    if not request.app.state.signer.csrf_ok(bound_to, given if isinstance(given, str) else None):
        raise CsrfFailed()


def csrf_token(request: Request) -> str:
    viewer = viewer_of(request)
    return request.app.state.signer.csrf_token(viewer.session_token or viewer.pre_token)


def render(request: Request, template: str, context: dict, status_code: int = 200) -> HTMLResponse:
    viewer = viewer_of(request) if hasattr(request.state, "pre_token") else None
    base = {
        "cspNonce": request.state.csp_nonce if hasattr(request.state, "csp_nonce") else None,
        "viewer": viewer,
        "csrf_token": csrf_token(request) if viewer else "",
        "version": __version__,
        "path": request.url.path,
    }
    return request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def set_session_cookie(request: Request, response: Response, token: str | None) -> None:
    if token is None:
        response.delete_cookie(SESSION_COOKIE)
        return
    response.set_cookie(
        SESSION_COOKIE,
        request.app.state.signer.sign(token),
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )
