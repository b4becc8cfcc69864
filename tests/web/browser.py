"""Helpers for the real-Chromium tests (the fixtures themselves live in conftest.py).

Debian's /usr/bin/chromium driven by Playwright (never ``playwright install``), the
app served by waitress on 127.0.0.1 and a free port, every request that would leave
the machine blocked and recorded, screenshots written to test-artifacts/.
"""
from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from web import create_app

from .conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"]
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SKIP_REASON = f"{CHROMIUM} missing (Debian package chromium; make browser)"

# ``pytestmark = BROWSER`` in every browser test module.
BROWSER = [pytest.mark.browser, pytest.mark.skipif(not HAVE_CHROMIUM, reason=SKIP_REASON)]

# A new browser context's defaults (what the map pages were designed at).
#: ``bypass_csp``: Playwright's ``wait_for_function("expression")`` evaluates a string,
#: which the app's Content-Security-Policy (no 'unsafe-eval') forbids; the CSP itself is
#: checked in test_csp_browser.py with ``bypass_csp=None`` (the policy enforced).
CONTEXT_DEFAULTS = {"viewport": {"width": 1366, "height": 850}, "locale": "zh-CN", "bypass_csp": True}


def browser_app(workspace_path, secret_key: str = "browser-test"):
    """The app on ``workspace_path`` as the live server runs it (plain HTTP, so no secure cookies)."""
    return create_app({"RURALPLAN_WORKSPACE": str(workspace_path), "SECRET_KEY": secret_key,
                       "SESSION_COOKIE_SECURE": False})


class LiveServers:
    """Starts waitress servers in daemon threads on free ports; ``close()`` stops them all."""

    def __init__(self):
        self._servers = []

    def __call__(self, workspace_path, *, secret_key: str = "browser-test") -> str:
        """Serve the app on ``workspace_path``; returns its base URL."""
        return self.serve(browser_app(workspace_path, secret_key))

    def serve(self, app) -> str:
        """Serve an app already built (e.g. after seeding it through its test client)."""
        from waitress.server import create_server

        server = create_server(app, host="127.0.0.1", port=0, threads=4)
        threading.Thread(target=server.run, daemon=True).start()
        self._servers.append(server)
        return f"http://127.0.0.1:{server.effective_port}"

    def close(self):
        while self._servers:
            self._servers.pop().close()


class PageWatch:
    """Records console errors, uncaught page errors, dialogs (dismissed) and blocked external requests."""

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.external: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith("data:") or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def clean(self):
        assert self.console_errors == []
        assert self.external == []
        assert self.dialogs == []


class PageFactory:
    """Opens pages, each in a fresh context (own cookies) with a :class:`PageWatch` as ``page.watch``."""

    def __init__(self, browser):
        self.browser = browser
        self._opened = []

    def __call__(self, **context_options):
        """``context_options`` override :data:`CONTEXT_DEFAULTS`; ``None`` drops a default."""
        ARTIFACTS.mkdir(exist_ok=True)
        options = {k: v for k, v in {**CONTEXT_DEFAULTS, **context_options}.items() if v is not None}
        context = self.browser.new_context(**options)
        page = context.new_page()
        page.watch = PageWatch(page)
        self._opened.append((context, page.watch))
        return page

    def close(self) -> list[str]:
        """Close every context still open; returns the external requests any page attempted."""
        external = []
        for context, watch in self._opened:
            external += watch.external
            try:
                context.close()
            except Exception:  # noqa: BLE001 - already closed by the test
                pass
        self._opened.clear()
        return external


def screenshot(target, name: str, **options) -> Path:
    """Save a screenshot of a page (or a locator) as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path), **options)
    return path


def login(page, base: str, username: str, password: str = PASSWORD):
    """Sign in through the login form and wait for the page it lands on."""
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button")
    page.wait_for_load_state("networkidle")


def open_map(page, base: str):
    page.goto(base + "/map/")
    page.wait_for_function("window.RP_READY === true", timeout=30000)


def pdf_text(path) -> str:
    """The text of a PDF by poppler's ``pdftotext -raw`` (content-stream order, so a
    cell's wrapped lines stay together)."""
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_page_sizes_pt(path_or_bytes) -> list[tuple[float, float]]:
    """Width and height of every page's MediaBox, in points (A4 = 595.3 x 841.9)."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", data)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]
