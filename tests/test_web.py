"""The web service through its HTTP interface: rules, sessions, CSRF, headers, pages."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta

import pyarrow.csv as pa_csv
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from mkdeal.access import accounts
from mkdeal.access.roles import role_book
from mkdeal.datasets import DATASETS
from mkdeal.datasets.load import load_file
from mkdeal.datasets.shaped import shaped_table
from mkdeal.db import open_app_database, upgrade
from mkdeal.logs import redact
from mkdeal.web.app import create_app, new_request_id
from mkdeal.web.rules import ANYONE, SIGNED_IN, route_table, rule_of

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long enough password"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def web(settings):
    upgrade(settings)
    engine = open_app_database(settings)
    accounts.add_user(
        engine,
        "ada",
        "Ada Admin",
        PASSWORD,
        organisations=["QHG"],
        roles=["administrator"],
        actor="test",
        hasher=CHEAP,
    )
    accounts.add_user(
        engine,
        "ann",
        "Ann Analyst",
        PASSWORD,
        organisations=["RD8"],
        roles=["analyst"],
        actor="test",
        hasher=CHEAP,
    )
    for role in role_book().roles:
        accounts.add_user(
            engine,
            f"r-{role}".replace("_", "-"),
            role,
            PASSWORD,
            organisations=["RD8"],
            roles=[role],
            actor="test",
            hasher=CHEAP,
        )
    clock = Clock()
    app = create_app(settings, clock=clock)
    yield app, engine, clock
    engine.dispose()


def client(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def csrf(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def sign_in(c: TestClient, username: str, password: str = PASSWORD, next_page: str = "/"):
    token = csrf(c.get("/sign-in").text)
    return c.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token, "next": next_page},
    )


# --- the permission matrix -----------------------------------------------------------

# How to call each route, and what it answers when allowed. A new route missing here fails.
CALLS = {
    ("GET", "/programme/participants/{reference}/activity"): (
        "/programme/participants/AMK-00001/activity",
        404,
    ),
    ("POST", "/programme/participants/{reference}/tokens"): (
        "/programme/participants/AMK-00001/tokens",
        404,
    ),
    ("POST", "/programme/participants/{reference}/tokens/{token_id}/revoke"): (
        "/programme/participants/AMK-00001/tokens/1/revoke",
        404,
    ),
    ("POST", "/programme/participants/{reference}/activity/enter"): (
        "/programme/participants/AMK-00001/activity/enter",
        404,
    ),
    # The sync API authenticates each request by its device token: none here, so 401.
    ("POST", "/api/v1/activity/{source}"): ("/api/v1/activity/healthkit", 401),
    ("GET", "/api/v1/openapi.json"): ("/api/v1/openapi.json", 200),
    ("GET", "/"): ("/", 200),
    ("GET", "/priorities/{priority_id}"): ("/priorities/system_flow", 200),
    ("GET", "/accessibility"): ("/accessibility", 200),
    ("GET", "/sign-in"): ("/sign-in", 200),
    ("POST", "/sign-in"): ("/sign-in", 400),  # allowed, but no user name given
    ("POST", "/sign-out"): ("/sign-out", 303),
    ("GET", "/loads"): ("/loads", 200),
    ("GET", "/audit"): ("/audit", 200),
    ("GET", "/source"): ("/source", 200),
    ("GET", "/healthz"): ("/healthz", 200),
    ("GET", "/readyz"): ("/readyz", 503),  # nothing published in this fixture
    # Nothing is published in this fixture, so the measure pages are not found.
    ("GET", "/measures/{measure_id}"): ("/measures/flow.handovers_over_30_minutes", 404),
    ("GET", "/measures/{measure_id}/data.csv"): ("/measures/rtt.waiting_list/data.csv", 404),
    ("GET", "/methodology"): ("/methodology", 200),
    # No report has been issued in this fixture: the list answers, a file is not found.
    ("GET", "/reports"): ("/reports", 200),
    ("GET", "/reports/{name}"): ("/reports/mk-deal-progress-report-2026-03-0.pdf", 404),
    # Active MK: no one is enrolled in this fixture, so every participant's page is not
    # found; the lists and the enrolment form answer, and enrolment with nothing filled in
    # is a form with errors.
    ("GET", "/programme"): ("/programme", 200),
    ("GET", "/programme/sign-offs"): ("/programme/sign-offs", 200),
    ("GET", "/programme/enrol"): ("/programme/enrol", 200),
    ("POST", "/programme/enrol"): ("/programme/enrol", 400),
    ("GET", "/programme/consent/{version}"): ("/programme/consent/2.0", 200),
    ("GET", "/programme/participants/{reference}"): ("/programme/participants/AMK-00001", 404),
    ("GET", "/programme/participants/{reference}/identity"): (
        "/programme/participants/AMK-00001/identity",
        404,
    ),
    ("POST", "/programme/participants/{reference}/device"): (
        "/programme/participants/AMK-00001/device",
        404,
    ),
    ("POST", "/programme/participants/{reference}/pause"): (
        "/programme/participants/AMK-00001/pause",
        404,
    ),
    ("POST", "/programme/participants/{reference}/pauses/{pause_id}/end"): (
        "/programme/participants/AMK-00001/pauses/1/end",
        404,
    ),
    ("POST", "/programme/participants/{reference}/pauses/{pause_id}/clinician-end"): (
        "/programme/participants/AMK-00001/pauses/1/clinician-end",
        404,
    ),
    ("GET", "/programme/participants/{reference}/screen"): (
        "/programme/participants/AMK-00001/screen",
        404,
    ),
    ("POST", "/programme/participants/{reference}/screen"): (
        "/programme/participants/AMK-00001/screen",
        404,
    ),
    ("GET", "/programme/participants/{reference}/sign-off"): (
        "/programme/participants/AMK-00001/sign-off",
        404,
    ),
    ("POST", "/programme/participants/{reference}/sign-off"): (
        "/programme/participants/AMK-00001/sign-off",
        404,
    ),
    ("GET", "/programme/participants/{reference}/consent"): (
        "/programme/participants/AMK-00001/consent",
        404,
    ),
    ("POST", "/programme/participants/{reference}/consent"): (
        "/programme/participants/AMK-00001/consent",
        404,
    ),
    ("GET", "/programme/participants/{reference}/withdraw"): (
        "/programme/participants/AMK-00001/withdraw",
        404,
    ),
    ("POST", "/programme/participants/{reference}/withdraw"): (
        "/programme/participants/AMK-00001/withdraw",
        404,
    ),
    # Goals and rewards: the staff page answers on an empty ledger; the participant's own
    # page explains that a sign-in is not linked yet (none is, here), and so no voucher of
    # theirs is found.
    ("GET", "/programme/rewards"): ("/programme/rewards", 200),
    ("GET", "/programme/participants/{reference}/rewards"): (
        "/programme/participants/AMK-00001/rewards",
        404,
    ),
    ("GET", "/me"): ("/me", 200),
    ("POST", "/me/vouchers/{entry_id}"): ("/me/vouchers/1", 404),
}


def _routes(app):
    return route_table(app)


def test_every_route_has_a_rule_and_a_matrix_entry(web):
    app, _, _ = web
    routes = list(_routes(app))
    assert all(rule_of(endpoint) for _, _, endpoint in routes)
    assert {(method, path) for method, path, _ in routes} == set(CALLS)


@pytest.mark.parametrize("role", [None, *role_book().roles])
def test_permission_matrix_every_route_every_role(web, role):
    app, _, _ = web
    c = client(app)
    permissions = role_book().permissions_of(frozenset() if role is None else {role})
    if role is not None:
        assert sign_in(c, f"r-{role}".replace("_", "-")).status_code == 303
    failures = []
    for method, path, endpoint in _routes(app):
        url, allowed_status = CALLS[(method, path)]
        requirement = rule_of(endpoint)
        allowed = (
            requirement == ANYONE
            or (requirement == SIGNED_IN and role is not None)
            or requirement in permissions
        )
        expected = allowed_status if allowed else (303 if role is None else 403)
        if method == "POST":
            token = csrf(c.get("/sign-in").text)
            response = c.post(url, data={"csrf_token": token})
            if (method, path) == ("POST", "/sign-out") and allowed:
                assert sign_in(c, f"r-{role}".replace("_", "-")).status_code == 303
        else:
            response = c.get(url)
        if response.status_code != expected:
            failures.append((method, url, response.status_code, expected))
        if expected == 303 and not allowed:
            assert response.headers["location"].startswith("/sign-in?next=")
    assert failures == []


# --- sign-in, sessions, CSRF -------------------------------------------------------------


def test_sign_in_without_csrf_or_with_a_wrong_one_is_refused(web):
    app, _, _ = web
    c = client(app)
    c.get("/sign-in")

    missing = c.post("/sign-in", data={"username": "ada", "password": PASSWORD})
    wrong = c.post(
        "/sign-in", data={"username": "ada", "password": PASSWORD, "csrf_token": "0" * 64}
    )

    assert missing.status_code == wrong.status_code == 403
    assert "This form has expired" in wrong.text
    assert "mkdeal_session" not in c.cookies


def test_csrf_token_from_another_browser_is_refused(web):
    app, _, _ = web
    attacker, victim = client(app), client(app)
    token = csrf(attacker.get("/sign-in").text)
    victim.get("/sign-in")

    response = victim.post(
        "/sign-in", data={"username": "ada", "password": PASSWORD, "csrf_token": token}
    )

    assert response.status_code == 403


def test_sign_out_needs_csrf_too(web):
    app, _, _ = web
    c = client(app)
    sign_in(c, "ada")

    assert c.post("/sign-out").status_code == 403
    assert c.get("/audit").status_code == 200


def test_session_token_changes_at_sign_in_and_the_old_one_stops_working(web):
    app, _, _ = web
    c = client(app)
    sign_in(c, "ann")
    first = c.cookies["mkdeal_session"]

    sign_in(c, "ada")
    second = c.cookies["mkdeal_session"]
    replay = client(app)
    replay.cookies.set("mkdeal_session", first)

    assert first != second
    assert replay.get("/loads").status_code == 303


def test_signed_out_session_cannot_be_replayed(web):
    app, _, _ = web
    c = client(app)
    sign_in(c, "ada")
    token = c.cookies["mkdeal_session"]
    c.post("/sign-out", data={"csrf_token": csrf(c.get("/").text)})
    replay = client(app)
    replay.cookies.set("mkdeal_session", token)

    assert replay.get("/audit").status_code == 303


def test_disabled_user_is_stopped_at_once(web):
    app, engine, _ = web
    c = client(app)
    sign_in(c, "ann")
    assert c.get("/loads").status_code == 200

    accounts.disable_user(engine, "ann", actor="test")

    assert c.get("/loads").status_code == 303
    assert sign_in(client(app), "ann").status_code == 400


def test_revoked_role_stops_working_at_once(web):
    app, engine, _ = web
    c = client(app)
    sign_in(c, "ann")

    accounts.revoke(engine, "ann", "analyst", actor="test")

    assert c.get("/loads").status_code == 403


def test_tampered_session_cookie_is_ignored(web):
    app, _, _ = web
    c = client(app)
    c.cookies.set("mkdeal_session", "not-signed")
    assert c.get("/loads").status_code == 303


def test_session_times_out_when_idle_and_absolutely(web):
    app, _, clock = web
    c = client(app)
    sign_in(c, "ada")

    clock.now += timedelta(minutes=31)
    assert c.get("/audit").status_code == 303

    sign_in(c, "ada")
    for _ in range(37):  # busy all day: every 20 minutes for over 12 hours
        clock.now += timedelta(minutes=20)
        status = c.get("/audit").status_code
    assert status == 303


def test_repeated_failed_sign_ins_are_slowed(web):
    app, _, clock = web
    c = client(app)
    for _ in range(accounts.MAX_FAILURES):
        assert sign_in(c, "ada", "wrong password!").status_code == 400

    throttled = sign_in(c, "ada")  # the right password, too soon

    assert throttled.status_code == 429
    assert "too many failed attempts" in throttled.text
    clock.now += accounts.FAILURE_WINDOW + timedelta(seconds=1)
    assert sign_in(c, "ada").status_code == 303


def test_failed_sign_ins_from_one_address_are_counted_across_accounts(web):
    app, _, _ = web
    c = client(app)
    for name in ("nobody-1", "nobody-2", "nobody-3", "nobody-4", "nobody-5"):
        sign_in(c, name, "wrong password!")
    assert sign_in(c, "ann").status_code == 429


def test_sign_in_next_cannot_leave_the_site(web):
    app, _, _ = web
    response = sign_in(client(app), "ada", next_page="//evil.example/")
    assert response.headers["location"] == "/"


# --- headers, pages, scoping, audit ------------------------------------------------------


def test_security_headers_and_nonce(web):
    app, _, _ = web
    response = client(app).get("/")

    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.text)
    assert inline and all(f'nonce="{nonce}"' in attributes for attributes in inline)
    assert "https://" not in re.sub(r'href="https://[^"]+"', "", response.text.split("<body")[0])


def test_home_shows_partners_priorities_and_leads(web):
    app, _, _ = web
    page = client(app).get("/").text
    for text in (
        "Milton Keynes University Hospital",
        "RD8",
        "QHG",
        "E06000042",
        "Improving system flow",
    ):
        assert text in page
    assert "Source code" in page


def test_unknown_page_and_priority_are_nhs_error_pages(web):
    app, _, _ = web
    c = client(app)
    for path in ("/nowhere", "/priorities/nowhere"):
        response = c.get(path)
        assert response.status_code == 404
        assert "Page not found" in response.text and "nhsuk-header" in response.text


def test_server_error_is_a_page_without_a_traceback(web, monkeypatch):
    app, _, _ = web

    def broken():
        raise RuntimeError("secret detail")

    monkeypatch.setattr("mkdeal.web.pages.load_deal", broken)
    response = TestClient(app, raise_server_exceptions=False).get("/")

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "secret detail" not in response.text and "Traceback" not in response.text


def test_loads_page_shows_only_the_users_organisations(web, settings, tmp_path):
    app, _, _ = web
    for source, seed in (("RD8", 1), ("RV3", 2)):
        path = tmp_path / f"{source}.csv"
        pa_csv.write_csv(shaped_table(DATASETS["acute_spells"], 10, seed=seed), path)
        load_file(settings, "acute_spells", path, source=source, as_of=date(2026, 3, 31))
    analyst, admin = client(app), client(app)
    sign_in(analyst, "ann")
    sign_in(admin, "ada")

    mine, everyone = analyst.get("/loads").text, admin.get("/loads").text

    assert ">RD8<" in mine and ">RV3<" not in mine
    assert ">RD8<" in everyone and ">RV3<" in everyone
    assert client(app).get("/readyz").status_code == 200


def test_sensitive_page_views_sign_ins_and_grants_are_audited(web):
    app, engine, _ = web
    c = client(app)
    sign_in(c, "ada")
    c.get("/audit")
    accounts.grant(engine, "ann", "flow_lead", actor="cli:test")

    page = c.get("/audit").text

    assert re.search(r"ada</td>\s*<td[^>]*>page.view</td>\s*<td[^>]*>/audit", page)
    assert "sign_in" in page and "role.grant" in page and "flow_lead" in page


def test_request_log_is_structured_with_request_ids(web, caplog):
    app, _, _ = web
    with caplog.at_level(logging.INFO, logger="mkdeal.web.access"):
        response = client(app).get("/accessibility?nhs_number=9434765919")

    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mkdeal.web.access"]
    assert records[-1]["request_id"] == response.headers["x-request-id"]
    assert records[-1]["path"] == "/accessibility" and records[-1]["status"] == 200
    assert "9434765919" not in caplog.text


def test_generated_request_ids_survive_the_nhs_number_filter(monkeypatch):
    # The hex id that once failed CI: its ten digits in a row were redacted in the log.
    monkeypatch.setattr("secrets.token_hex", lambda n: "b5055725671e6b0b")
    request_id = new_request_id()
    assert len(request_id) == 16 and not any(c.isdigit() for c in request_id)
    assert redact(request_id) == request_id


def test_healthz_answers(web):
    app, _, _ = web
    assert client(app).get("/healthz").json()["status"] == "ok"
