"""Browser tests: headless Chromium (Debian's ``chromium``, never a downloaded browser) driven by
Playwright against a real ``khudan serve`` (gunicorn) on a free loopback port.

The server runs once per test session on its own SQLite database (whatever KHUDAN_DATABASE_URL
says: the other tests empty that database after each test), with the household form published and
one user per role. Tests add what they need through ``live.db`` and the services, or through
ODK Collect's protocol at ``live.url``. Tests should not depend on each other's data.

Without /usr/bin/chromium these tests skip, naming the package (.ci/run requires it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests
from khudan_server import KhudanServer
from sqlalchemy import func, select
from system_tools import need

from khudan.db import Database
from khudan.models import Job
from khudan.services import users
from khudan.storage import LocalStorage

# As tests/conftest.py (not imported from there: pytest may have another module named conftest).
PASSWORD = "correct horse"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots go to a folder git ignores; scripts/refresh-screenshots.sh sets
# KHUDAN_SCREENSHOTS=docs/screenshots to refresh the README's copies. A test run changes no
# tracked file.
SCREENSHOTS = Path(
    os.environ.get("KHUDAN_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "screenshots"
)
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
# One user per role, all with conftest's PASSWORD; collector and supervisor work in Gia Lai (52).
USERS = {
    "collector": ("thu", ("52",)),
    "supervisor": ("lan", ("52",)),
    "designer": ("minh", ()),
    "admin": ("quan", ()),
}


class LiveServer(KhudanServer):
    """The browser tests' server, on its own SQLite file, with one user per role; ``db`` and
    ``storage`` for the tests to add what they need."""

    def __init__(self, root: Path):
        database_url = f"sqlite:///{root}/khudan.db"
        super().__init__(
            root,
            database_url,
            lambda url: requests.get(f"{url}/app/login", timeout=1).status_code == 200,
            KHUDAN_SECRET_KEY="browser-test",
            KHUDAN_ODK_VALIDATE="0",
        )
        self.db = Database(database_url)
        self.storage = LocalStorage(self.media)

    def start(self) -> None:
        self.db.migrate()
        with self.db.session() as session:
            for role, (name, areas) in USERS.items():
                users.create_user(session, name, role, PASSWORD, list(areas))
            session.commit()
        super().start()

    def stop(self) -> None:
        super().stop()
        self.db.dispose()

    def wait_processed(self, timeout: float = 30) -> None:
        """Until the server's worker threads have done every job (checks, facts, thumbnails run
        after the 201)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.db.session() as session:
                if not session.scalar(select(func.count()).select_from(Job)):
                    return
            assert time.monotonic() < deadline, "the server's jobs did not finish"
            time.sleep(0.05)


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("browser"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    need("chromium")  # skips, naming the package, unless KHUDAN_REQUIRE_SYSTEM_TOOLS=1
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live):
    """``new_page(PHONE)``: a page in a fresh browser context (own cookies), ``live.url`` as base."""
    contexts = []

    def make(viewport: dict = DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Through the real log-in form."""
    page.goto("/app/login")
    page.get_by_label("Tên người dùng").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.fixture
def page_as(new_page):
    """``page_as("supervisor")`` (or collector, designer, admin): a page logged in as that role's
    user (see USERS), on the dashboard."""

    def make(role: str, viewport: dict = DESKTOP):
        page = new_page(viewport)
        log_in(page, USERS[role][0])
        page.wait_for_url("**/app/")
        return page

    return make


def screenshot(page, name: str) -> Path:
    """Save the whole page as <SCREENSHOTS>/<name>.png (docs/screenshots/ for the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
