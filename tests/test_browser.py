"""The web service in a real browser: Debian's chromium driven by Playwright.

One Chromium per test session and one live server (uvicorn in a thread) per module, over a
data folder with three users and two published loads. Every page is opened through
`Browsing`, which fails the test on any console error or page error (Chromium reports
Content-Security-Policy violations as console errors) and on any request to another host.
Axe (axe-core, shipped inside axe-playwright-python) checks every kind of page for serious
and critical problems. Set MKDEAL_SCREENSHOTS to a folder to get full-page screenshots.

Needs /usr/bin/chromium (`apt-get install -y chromium`); never downloads a browser.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.csv as pa_csv
import pytest
from argon2 import PasswordHasher

from .conftest import TEST_KEYS

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
USERS = {
    # user name: (display name, role, organisation)
    "admin": ("Ada Admin", "administrator", "QHG"),
    "analyst": ("Ann Analyst", "analyst", "RD8"),
    "viewer": ("Vic Viewer", "partner_viewer", "RD8"),
    "staff": ("Sam Staff", "programme_staff", "RD8"),
    "clinician": ("Cleo Clinician", "clinician", "RD8"),
    "participant": ("Pat Participant", "participant", "RD8"),  # signs in as AMK-00003
    "newcomer": ("Nia Newcomer", "participant", "RD8"),  # not linked to anyone yet
}
FORBIDDEN = "You do not have access to this page"
SCREENSHOTS = os.environ.get("MKDEAL_SCREENSHOTS")
# Chromium logs a console error for any response of 400 or more, the page itself included.
FAILED_RESOURCE = re.compile(r"^Failed to load resource: the server responded with a status of")


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, started once for the whole test session."""
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) "
            "to run the browser tests; they never download a browser."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except BaseException:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sample_file(folder: Path, name: str, seed: int) -> Path:
    from mkdeal.datasets import DATASETS
    from mkdeal.datasets.shaped import shaped_table

    path = folder / name
    pa_csv.write_csv(shaped_table(DATASETS["acute_spells"], 20, seed=seed), path)
    return path


def _publish_measures(settings, folder: Path) -> None:
    """The handover golden data (test_measures) loaded and the measures published: in
    October 3 of 5 known handovers took over 30 minutes, a group of 3 the public must not
    see."""
    from mkdeal.datasets.load import load_file
    from mkdeal.measures.refresh import refresh

    from .test_measures import (
        ARRIVALS,
        DEPRIVATION,
        HEADER_ONLY,
        NOVEMBER,
        OCTOBER,
        RESIDENTS,
    )

    for name, text, source, period in (
        ("ambulance_arrivals", ARRIVALS, "RD8", OCTOBER),
        ("ambulance_arrivals", HEADER_ONLY["ambulance_arrivals"], "RD8", NOVEMBER),
        ("residents", RESIDENTS, "QHG", None),
        ("area_deprivation", DEPRIVATION, "E06000042", None),
    ):
        path = folder / f"{name}-{period.start if period else 'all'}.csv"
        path.write_text(text, encoding="utf-8")
        load_file(settings, name, path, source=source, as_of=date(2026, 3, 31), period=period)
    refresh(settings)


# The live server's "now" starts at 09:00 on the day the tests pin and runs on from there,
# so what the programme pages say does not depend on the day the tests run.
STARTED = datetime(2026, 3, 31, 9, tzinfo=UTC)
PRACTICE = ("Z90001", "Synthetic Practice One")


def _pinned_clock():
    began = time.monotonic()
    return lambda: STARTED + timedelta(seconds=time.monotonic() - began)


def _enrol_participants(settings, engine) -> None:
    """Two participants, so the staff pages have something on them: AMK-00001 is ready
    with a clinician's limits and a holiday behind them; AMK-00002 waits for a sign-off,
    is paused after a hypoglycaemia and must consent again."""
    from mkdeal.activity import consent, participants
    from mkdeal.activity.participants import Identity
    from mkdeal.activity.programme import SCREEN_CODES, Eligibility, Limits
    from mkdeal.db import IDENTIFIABLE_STORE, open_store
    from mkdeal.people import Pseudonymiser

    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    pseudonymiser = Pseudonymiser(settings.pseudonymisation_key)
    participants.load_practices(engine, [PRACTICE], STARTED)
    january, march = datetime(2026, 1, 12, 10, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)
    for nhs_number, given, route, at in (
        ("9990000018", "Ada", "apple_watch_iphone", march),
        ("9990000026", "Bo", "loaned_device", january),
    ):
        born = date(1958, 6, 1)
        participants.enrol(
            engine,
            identifiable,
            pseudonymiser,
            Identity(nhs_number, given, "Example", born, f"{given.lower()}@example.com"),
            Eligibility(born, True, PRACTICE[0], route, True),
            actor="staff",
            now=at,
            today=at.date(),
        )
    risky = {code: code == "insulin_or_sulfonylurea" for code in SCREEN_CODES}
    first = participants.record_screen(engine, "AMK-00001", risky, actor="staff", now=march)
    participants.sign_off(
        engine,
        "AMK-00001",
        first,
        "cleared_with_limits",
        Limits(150, 7000, True, "Check glucose before a long walk."),
        actor="clinician",
        now=march + timedelta(days=1),
    )
    for reference, at in (("AMK-00001", march), ("AMK-00002", january)):
        document = consent.in_force(at.date())
        participants.record_consent(
            engine,
            reference,
            document.version,
            dict.fromkeys(document.item_ids, True),
            actor="staff",
            now=at,
            today=at.date(),
        )
    participants.start_pause(
        engine, "AMK-00001", "holiday", date(2026, 3, 9), date(2026, 3, 15), "",
        actor="staff", now=march,
    )  # fmt: skip
    participants.record_screen(engine, "AMK-00002", risky, actor="staff", now=STARTED)
    participants.start_pause(
        engine, "AMK-00002", "hypo_or_injury", date(2026, 3, 30), None,
        "Felt shaky and sweaty after a walk.", actor="staff", now=STARTED,
    )  # fmt: skip
    identifiable.dispose()


def _local_midnight(day: date) -> str:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, datetime.min.time(), ZoneInfo("Europe/London")).isoformat()


def _goals_and_rewards(settings, engine, folder: Path) -> None:
    """AMK-00003, ready since Monday 2 February, wore an Apple Watch every day: the night's
    batch of 31 March sets their goals, credits the five weeks counted, turns 2,000 points
    into two £10 vouchers and issues both codes of the three loaded (one left: low stock).
    The £2,000 budget covers AMK-00003 and AMK-00001; AMK-00002 waits for budget. The
    participant signs in as `participant`."""
    import json

    from sqlalchemy.orm import Session

    from mkdeal.activity import consent, ingest, nightly, participants, sync
    from mkdeal.activity.participants import Identity
    from mkdeal.activity.programme import SCREEN_CODES, Eligibility
    from mkdeal.activity.vouchers import StockProvider, load_stock
    from mkdeal.db import IDENTIFIABLE_STORE, open_store
    from mkdeal.people import Pseudonymiser

    enrolled, today = datetime(2026, 2, 2, 10, tzinfo=UTC), STARTED.date()
    nightly.add_budget(engine, 200_000, "Test funding", actor="staff", now=enrolled)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    born = date(1960, 4, 1)
    reference = participants.enrol(
        engine, identifiable, Pseudonymiser(settings.pseudonymisation_key),
        Identity("9990000042", "Pat", "Example", born, "pat@example.com"),
        Eligibility(born, True, PRACTICE[0], "apple_watch_iphone", True),
        actor="staff", now=enrolled, today=enrolled.date(),
    )  # fmt: skip
    identifiable.dispose()
    participants.record_screen(
        engine, reference, dict.fromkeys(SCREEN_CODES, False), actor="staff", now=enrolled
    )
    document = consent.in_force(enrolled.date())
    participants.record_consent(
        engine, reference, document.version, dict.fromkeys(document.item_ids, True),
        actor="staff", now=enrolled, today=enrolled.date(),
    )  # fmt: skip
    statistics = []
    day = enrolled.date()
    while day < today:
        start, end = _local_midnight(day), _local_midnight(day + timedelta(days=1))
        for kind, total in (
            ("HKQuantityTypeIdentifierStepCount", 6000),
            ("HKQuantityTypeIdentifierAppleExerciseTime", 25),
        ):
            statistics.append({"type": kind, "start": start, "end": end, "sum": total})
        day += timedelta(days=1)
    payload = {
        "format": "healthkit-statistics", "version": 1, "interval": "P1D",
        "statistics": statistics,
    }  # fmt: skip
    pid = participants.record(engine, reference).id
    sync.receive(engine, settings.data_dir, pid, "healthkit", json.dumps(payload).encode(),
                 now=STARTED - timedelta(hours=8))  # fmt: skip
    ingest.ingest(engine, settings.data_dir, as_of=today, now=STARTED - timedelta(hours=7))
    ingest.finalise(engine, as_of=today, now=STARTED - timedelta(hours=7))
    codes = folder / "voucher-codes.txt"
    codes.write_text("SYNTH-BROWSER00001\nSYNTH-BROWSER00002\nSYNTH-BROWSER00003\n")
    provider = StockProvider(settings.encryption_key)
    with Session(engine) as session, session.begin():
        load_stock(session, provider, codes, 1000, actor="staff", now=enrolled)
    night = STARTED - timedelta(hours=6)
    nightly.set_goals(engine, as_of=today, now=night)
    nightly.award(engine, as_of=today, now=night)
    assert nightly.issue_vouchers(engine, provider, as_of=today, now=night) == (2, 0)
    participants.link_account(engine, reference, "participant", actor="staff", now=night)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free local port over a fresh data folder; yields its origin."""
    import uvicorn

    from mkdeal import db
    from mkdeal.access.accounts import add_user
    from mkdeal.datasets.load import load_file
    from mkdeal.settings import load_settings
    from mkdeal.web.app import create_app

    root = tmp_path_factory.mktemp("browser")
    data_dir = root / "data"
    data_dir.mkdir()
    settings = load_settings({"MKDEAL_DATA_DIR": str(data_dir), **TEST_KEYS}, cwd=root)
    db.upgrade(settings)
    engine = db.open_app_database(settings)
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    for username, (display_name, role, organisation) in USERS.items():
        add_user(
            engine,
            username,
            display_name,
            PASSWORD,
            organisations=[organisation],
            roles=[role],
            actor="test",
            hasher=cheap,
        )
    # Two partners' loads, published: the analyst of RD8 must see only RD8's.
    for source, seed in (("RD8", 1), ("RV3", 2)):
        path = _sample_file(root, f"spells-{source}.csv", seed)
        load_file(settings, "acute_spells", path, source=source, as_of=date(2026, 3, 31))
    _publish_measures(settings, root)
    _enrol_participants(settings, engine)
    _goals_and_rewards(settings, engine, root)

    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, clock=_pinned_clock()),
        host="127.0.0.1",
        port=port,
        log_config=None,
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mkdeal-live-server", daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{origin}/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"The live server did not answer {origin}/healthz within 20 seconds.")
        time.sleep(0.05)
    with urllib.request.urlopen(f"{origin}/readyz", timeout=5) as response:
        assert response.status == 200, "the live server is not ready"
    yield origin
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@dataclass
class Browsing:
    """One browser context's page, with everything that went wrong on it."""

    page: object
    origin: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_documents: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("response", self._response)

    def _response(self, response) -> None:
        if response.request.resource_type == "document" and response.status >= 400:
            self.failed_documents.add(response.url)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if FAILED_RESOURCE.match(message.text) and where in self.failed_documents:
            return  # the 4xx page we asked for, not a broken asset
        self.errors.append(f"console error at {where}: {message.text}")

    def go(self, path: str, status: int = 200):
        response = self.page.goto(self.origin + path)
        assert response is not None
        assert response.status == status, f"{path}: {response.status}, expected {status}"
        self.page.wait_for_load_state("load")
        self.check()
        return response

    def check(self) -> None:
        assert not self.errors, "Console or page errors:\n" + "\n".join(self.errors)
        elsewhere = [url for url in self.requests if not url.startswith(self.origin + "/")]
        assert not elsewhere, "Requests to another host:\n" + "\n".join(elsewhere)

    def sign_in(self, username: str, password: str = PASSWORD, next: str = "/") -> None:
        self.go(f"/sign-in?next={next}")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(password)
        with self.page.expect_navigation():
            self.page.get_by_label("Password").press("Enter")
        self.check()

    def heading(self) -> str:
        return self.page.locator("h1").inner_text().strip()

    def path(self) -> str:
        url = self.page.url
        assert url.startswith(self.origin), url
        return url[len(self.origin) :]

    def screenshot(self, name: str) -> None:
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def browsing(browser, live_server) -> Iterator[Browsing]:
    """A fresh context (no cookies) per test; the test fails on any error seen on it."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    watched = Browsing(context.new_page(), live_server)
    yield watched
    try:
        watched.check()
    finally:
        context.close()


@pytest.mark.parametrize(
    ("path", "status", "title", "heading"),
    [
        ("/", 200, "The MK Deal – MK Deal", "The MK Deal"),
        ("/priorities/system_flow", 200, None, None),
        ("/accessibility", 200, "Accessibility statement – MK Deal", "Accessibility statement"),
        ("/sign-in", 200, "Sign in – MK Deal", "Sign in"),
        ("/no-such-page", 404, "Page not found – MK Deal", "Page not found"),
        ("/priorities/no_such_priority", 404, "Page not found – MK Deal", "Page not found"),
    ],
    ids=["home", "priority", "accessibility", "sign-in", "not-found", "unknown-priority"],
)
def test_public_pages(browsing: Browsing, path, status, title, heading):
    from mkdeal.deal import load_deal

    if path == "/priorities/system_flow":
        name = next(p.name for p in load_deal().priorities if p.id == "system_flow")
        title, heading = f"{name} – MK Deal", name
    browsing.go(path, status)
    page = browsing.page
    assert page.title() == title
    assert browsing.heading() == heading
    assert page.locator("header").get_by_role("link", name="Sign in").is_visible()
    assert page.locator("#maincontent").count() == 1
    # The page's own CSS and JavaScript arrived from this server.
    assert any(url.endswith("/static/css/nhsuk-frontend.min.css") for url in browsing.requests)
    assert any(url.endswith("/static/js/init.js") for url in browsing.requests)
    # The NHS.UK frontend initialised (the template's nonce'd inline script ran).
    assert "nhsuk-frontend-supported" in (page.locator("body").get_attribute("class") or "")


def test_browsing_catches_csp_violations_and_broken_assets(browsing: Browsing):
    """The watcher itself: an inline script and a missing image must both be reported."""
    page = browsing.page
    browsing.go("/")
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate(
            """() => {
                const script = document.createElement('script');
                script.textContent = 'window.inlineRan = true';
                document.body.append(script);
            }"""
        )
    assert page.evaluate("window.inlineRan === undefined"), "the CSP let an inline script run"
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate(
            """() => {
                const image = document.createElement('img');
                image.src = '/static/no-such-image.png';
                document.body.append(image);
            }"""
        )
    assert any("Content Security Policy" in error for error in browsing.errors), browsing.errors
    assert any("status of 404" in error for error in browsing.errors), browsing.errors
    with pytest.raises(AssertionError, match="Console or page errors"):
        browsing.check()
    browsing.errors.clear()


def test_analyst_signs_in_sees_own_loads_is_refused_audit_and_signs_out(browsing: Browsing):
    page = browsing.page
    browsing.go("/loads", 200)  # the redirect lands on the sign-in page
    assert browsing.path() == "/sign-in?next=/loads"
    assert page.locator("input[name=next]").input_value() == "/loads"
    page.get_by_label("User name").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    browsing.check()
    assert browsing.path() == "/loads"
    assert browsing.heading() == "Data quality: loads"
    assert page.locator("header").get_by_text("Ann Analyst").is_visible()
    header = page.locator("header")
    assert header.get_by_role("link", name="Loads").is_visible()
    assert header.get_by_role("link", name="Audit log").count() == 0

    rows = page.locator("table.nhsuk-table tbody tr")
    sources = [
        rows.nth(i).locator("td").nth(2).inner_text().strip()
        for i in range(rows.count())
        if rows.nth(i).locator("td").count() == 9  # a load's row, not a reason's
    ]
    assert sources and set(sources) == {"RD8"}, sources

    response = browsing.go("/audit", 403)
    assert response.status == 403
    assert browsing.heading() == FORBIDDEN
    assert page.title() == f"{FORBIDDEN} – MK Deal"

    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Sign out").click()
    browsing.check()
    assert browsing.path() == "/"
    assert page.locator("header").get_by_role("link", name="Sign in").is_visible()
    assert page.locator("header").get_by_text("Ann Analyst").count() == 0
    browsing.go("/loads")
    assert browsing.path() == "/sign-in?next=/loads"


def test_admin_sees_the_audit_log(browsing: Browsing):
    browsing.sign_in("admin", next="/audit")
    page = browsing.page
    assert browsing.path() == "/audit"
    assert browsing.heading() == "Audit log"
    table = page.locator("table.nhsuk-table")
    assert table.is_visible()
    headers = [text.strip() for text in table.locator("thead th").all_inner_texts()]
    assert headers == ["When (UTC)", "Who", "What", "Of", "Detail"]
    actions = [text.strip() for text in table.locator("tbody td:nth-child(3)").all_inner_texts()]
    assert "sign_in" in actions and "page.view" in actions and "user.add" in actions
    # The administrator sees every organisation's loads.
    browsing.go("/loads")
    cells = page.locator("table.nhsuk-table tbody td:nth-child(3)").all_inner_texts()
    assert {"RD8", "RV3"} <= {cell.strip() for cell in cells}


def _focused(page) -> dict:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            return {tag: e.tagName, id: e.id, text: (e.innerText || '').trim().slice(0, 80)};
        }"""
    )


def test_keyboard_skip_link_and_sign_in(browsing: Browsing):
    page = browsing.page
    browsing.go("/")
    page.keyboard.press("Tab")
    focused = _focused(page)
    assert focused["text"] == "Skip to main content", focused
    assert page.locator(".nhsuk-skip-link").is_visible()  # shown when focused
    page.keyboard.press("Enter")
    focused = _focused(page)
    assert focused["id"] == "maincontent", focused
    assert browsing.path() == "/#maincontent"

    browsing.go("/sign-in")
    for _ in range(30):
        page.keyboard.press("Tab")
        if _focused(page)["id"] == "username":
            break
    else:
        pytest.fail("Tab never reached the user name field")
    page.keyboard.type("viewer")
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    browsing.check()
    assert browsing.path() == "/"
    assert page.locator("header").get_by_text("Vic Viewer").is_visible()
    assert page.locator("header").get_by_role("button", name="Sign out").is_visible()


AXE_PAGES = {
    # kind: (user to sign in as, path, status)
    "home": (None, "/", 200),
    "priority": (None, "/priorities/system_flow", 200),
    "accessibility": (None, "/accessibility", 200),
    "sign-in": (None, "/sign-in", 200),
    "sign-in-error": (None, None, 400),
    "forbidden": ("analyst", "/audit", 403),
    "not-found": (None, "/no-such-page", 404),
    "loads": ("analyst", "/loads", 200),
    "audit": ("admin", "/audit", 200),
    "measure": (None, "/measures/flow.handovers_over_30_minutes", 200),
    "measure-analyst": ("analyst", "/measures/flow.handovers_over_30_minutes", 200),
    "methodology": (None, "/methodology", 200),
    "programme-list": ("staff", "/programme", 200),
    "programme-enrol": ("staff", "/programme/enrol", 200),
    "programme-enrol-error": ("staff", None, 400),
    "programme-participant": ("staff", "/programme/participants/AMK-00001", 200),
    "programme-activity": ("staff", "/programme/participants/AMK-00001/activity", 200),
    "programme-participant-paused": ("staff", "/programme/participants/AMK-00002", 200),
    "programme-identity": ("staff", "/programme/participants/AMK-00001/identity", 200),
    "programme-screen": ("staff", "/programme/participants/AMK-00001/screen", 200),
    "programme-consent": ("staff", "/programme/participants/AMK-00002/consent", 200),
    "programme-withdraw": ("staff", "/programme/participants/AMK-00001/withdraw", 200),
    "programme-sign-offs": ("clinician", "/programme/sign-offs", 200),
    "programme-sign-off": ("clinician", "/programme/participants/AMK-00002/sign-off", 200),
    "consent-document": (None, "/programme/consent/2.0", 200),
    "programme-rewards": ("staff", "/programme/rewards", 200),
    "programme-participant-rewards": ("staff", "/programme/participants/AMK-00003/rewards", 200),
    "me": ("participant", "/me", 200),
    "me-voucher": ("participant", None, 200),
    "me-not-linked": ("newcomer", "/me", 200),
}
SCREENSHOT_KINDS = {
    "home",
    "priority",
    "sign-in",
    "forbidden",
    "measure",
    "measure-analyst",
    "programme-list",
    "programme-enrol-error",
    "programme-participant",
    "programme-activity",
    "programme-participant-paused",
    "programme-sign-offs",
    "programme-sign-off",
    "programme-consent",
    "programme-withdraw",
    "consent-document",
    "programme-rewards",
    "programme-participant-rewards",
    "me",
}


@pytest.mark.parametrize("kind", list(AXE_PAGES))
def test_axe_finds_no_serious_problems(browsing: Browsing, kind: str):
    from axe_playwright_python.sync_playwright import Axe

    user, path, status = AXE_PAGES[kind]
    if user:
        browsing.sign_in(user)
    if kind == "sign-in-error":
        browsing.go("/sign-in")
        page = browsing.page
        page.get_by_label("User name").fill("viewer")
        page.get_by_label("Password").fill("not the password at all")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        browsing.check()
        assert page.locator(".nhsuk-error-summary").is_visible()
        # The error summary takes focus, so a screen reader announces it.
        assert page.evaluate("document.activeElement.closest('.nhsuk-error-summary') !== null")
    elif kind == "programme-enrol-error":
        browsing.go("/programme/enrol")
        page = browsing.page
        page.get_by_label("NHS number").fill("999 000 0019")
        with page.expect_navigation():
            page.get_by_role("button", name="Enrol").click()
        browsing.check()
        assert page.locator(".nhsuk-error-summary").is_visible()
        assert page.locator(".nhsuk-error-message").count() >= 5
    elif kind == "me-voucher":
        browsing.go("/me")
        page = browsing.page
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile(r"^Show code")).first.click()
        browsing.check()
        assert page.locator("#voucher-code").is_visible()
    else:
        browsing.go(path, status)
    if kind in SCREENSHOT_KINDS:
        browsing.screenshot(kind)

    results = Axe().run(browsing.page)
    browsing.check()  # axe itself must not trip the CSP
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}; "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"])
        for v in serious
    )
    assert not serious, f"axe on {kind} ({browsing.path()}):\n{report}"


# --- Active MK ---------------------------------------------------------------------------------


def _choose(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def _switch_user(browsing: Browsing, username: str, next: str) -> None:
    page = browsing.page
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Sign out").click()
    browsing.check()
    browsing.sign_in(username, next=next)


def test_staff_enrol_screen_the_clinician_signs_off_and_consent_makes_ready(browsing: Browsing):
    page = browsing.page
    browsing.sign_in("staff", next="/programme")
    assert browsing.heading() == "Active MK participants"
    with page.expect_navigation():
        page.get_by_role("button", name="Enrol a person").click()
    browsing.check()
    assert browsing.path() == "/programme/enrol"
    page.get_by_label("NHS number").fill("999 000 0034")
    page.get_by_label("Given name").fill("Cy")
    page.get_by_label("Family name").fill("Example")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("1961")
    page.get_by_label("Mobile number").fill("07700 900123")
    page.get_by_label("GP practice").select_option(PRACTICE[0])
    _choose(page, "Does the person have a recorded diagnosis of type 2 diabetes?", "Yes")
    _choose(page, "Device route", "Garmin watch")
    _choose(page, "Can the person use this device?", "Yes")
    with page.expect_navigation():
        page.get_by_role("button", name="Enrol", exact=True).click()
    browsing.check()
    reference = browsing.heading().removeprefix("Participant ")
    assert re.fullmatch(r"AMK-\d{5}", reference), reference
    base = f"/programme/participants/{reference}"
    assert browsing.path() == f"{base}?done=enrolled"
    assert page.get_by_text("The person is enrolled.").is_visible()
    assert page.locator(".nhsuk-tag", has_text="Not ready").is_visible()

    with page.expect_navigation():
        page.get_by_role("link", name="Record an exercise-safety screen").click()
    browsing.check()
    from mkdeal.activity.programme import SCREEN_QUESTIONS

    for question in SCREEN_QUESTIONS:
        yes = question.code == "foot_ulcer_or_sensation_loss"
        _choose(page, question.question, "Yes" if yes else "No")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the screen").click()
    browsing.check()
    assert page.get_by_text("It found a risk, so it goes to a clinician").is_visible()

    _switch_user(browsing, "clinician", "/programme/sign-offs")
    assert browsing.heading() == "Sign-offs for Active MK"
    with page.expect_navigation():
        page.get_by_role("link", name=f"Sign off {reference}").click()
    browsing.check()
    assert page.get_by_text("Weight-bearing activity can cause or worsen foot ulcers.").is_visible()
    _choose(page, "Your decision", "Cleared: the plan may go ahead as usual")
    page.get_by_label("Note (optional)").fill("Advised on footwear.")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the sign-off").click()
    browsing.check()
    assert page.get_by_text("The sign-off is recorded.").is_visible()
    assert page.get_by_role("link", name=f"Sign off {reference}").count() == 0

    _switch_user(browsing, "staff", f"{base}/consent")
    assert browsing.heading() == "Taking part in Active MK"
    for question in page.locator("fieldset legend").all_inner_texts():
        _choose(page, question.strip(), "Yes")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the answers").click()
    browsing.check()
    assert page.locator("main .nhsuk-tag").first.inner_text().strip() == "Ready"

    browsing.go("/programme?readiness=may_rise")
    row = page.locator("table.nhsuk-table tbody tr", has_text=reference)
    assert row.count() == 1
    assert row.locator(".nhsuk-tag").inner_text().strip() == "Ready"
    browsing.screenshot("programme-list-ready")


def test_participant_sees_their_goal_and_shows_a_voucher_code(browsing: Browsing):
    page = browsing.page
    browsing.sign_in("participant", next="/me")
    assert browsing.path() == "/me"
    assert browsing.heading() == "Your goals and rewards"
    header = page.locator("header")
    assert header.get_by_role("link", name="Your goals and rewards").is_visible()
    assert header.get_by_role("link", name="Active MK").count() == 0
    # Plan week 7: the run-in's 6,000 steps rising by 30% over 12 weeks; 175 minutes.
    assert page.locator("#goal-sentence").inner_text().strip() == (
        "This week, from Monday 30 March: 175 active minutes (vigorous minutes count double), "
        "or an average of 7,050 steps a day on the days you wear your device."
    )
    assert page.get_by_text("You have 500 points").is_visible()
    buttons = page.get_by_role("button", name=re.compile(r"^Show code"))
    assert buttons.count() == 2
    with page.expect_navigation():
        buttons.first.click()
    browsing.check()
    assert browsing.path().startswith("/me/vouchers/")
    assert browsing.heading() == "Your £10.00 voucher"
    code = page.locator("#voucher-code").inner_text().strip()
    assert re.fullmatch(r"SYNTH-BROWSER0000[12]", code), code
    browsing.screenshot("me-voucher")
    with page.expect_navigation():
        page.get_by_role("link", name="Back to your goals and rewards").click()
    browsing.check()
    assert browsing.path() == "/me"
    assert code not in page.content()  # a code is only ever on its own page


# --- the dashboard --------------------------------------------------------------------------

MEASURE = "flow.handovers_over_30_minutes"


def _figure_cells(page) -> list[str]:
    """The numerator and denominator cells of every table row on the page."""
    cells = []
    for row in page.locator("tr.nhsuk-table__row").all():
        values = [(cell.text_content() or "").strip() for cell in row.locator("td").all()]
        cells.extend(values[1:3])
    return cells


def test_measure_followed_from_home_to_its_chart(browsing: Browsing):
    from mkdeal.deal import load_deal

    page = browsing.page
    browsing.go("/")
    name = next(p.name for p in load_deal().priorities if p.id == "system_flow")
    with page.expect_navigation():
        page.get_by_role("link", name=name).first.click()
    browsing.check()
    sparkline = page.locator(".mkdeal-chart").first
    sparkline.and_(page.locator("[data-chart=drawn]")).wait_for()
    with page.expect_navigation():
        page.locator(f'a[href="/measures/{MEASURE}"]').first.click()
    browsing.check()
    assert browsing.path() == f"/measures/{MEASURE}"
    chart = page.locator('.mkdeal-chart[data-spec="measure-chart-spec"]')
    page.locator('.mkdeal-chart[data-spec="measure-chart-spec"][data-chart="drawn"]').wait_for()
    assert chart.locator("svg").count() >= 1
    assert page.get_by_text("Not enough data for SPC yet").count() >= 1
    browsing.screenshot("measure-chart")
    browsing.check()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the data (CSV)").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("measure_id,version,frequency")
    assert MEASURE in text


def test_public_sees_no_small_count_but_the_analyst_sees_the_3(browsing: Browsing):
    page = browsing.page
    browsing.go(f"/measures/{MEASURE}")
    public = _figure_cells(page)
    assert public and not {str(n) for n in range(1, 8)} & set(public)
    browsing.sign_in("analyst", next=f"/measures/{MEASURE}")
    assert browsing.path() == f"/measures/{MEASURE}"
    assert "3" in _figure_cells(page)
