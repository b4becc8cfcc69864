"""Web fixtures: a small sample workspace with one user per role, the app and a client."""
from __future__ import annotations

import re

import pytest

from web import create_app
from web.services.users import add_user, ensure_demo_users

from .sample import build_sample_workspace

PASSWORD = "secret123"


@pytest.fixture(scope="session")
def sample_workspace_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("ws-template") / "sample.gpkg"
    ws = build_sample_workspace(path)
    for name, role, scope in (
        ("planner1", "planner", {}), ("admin1", "admin", {}), ("approver1", "county_approver", {}),
        ("sector1", "sector_assessor", {"sector": "农业农村局"}), ("town1", "town_reviewer", {"town": "东岭镇"}),
    ):
        add_user(ws, name, PASSWORD, role, **scope)
    villages = ws.read_layer("villages")
    add_user(ws, "village1", PASSWORD, "village_applicant", village=str(villages["code"].iloc[0]))
    ensure_demo_users(ws)
    return path


@pytest.fixture
def workspace(sample_workspace_template, tmp_path):
    import shutil

    from layers.store import Workspace

    path = tmp_path / "ws.gpkg"
    shutil.copyfile(sample_workspace_template, path)
    return Workspace(path)


@pytest.fixture
def app(workspace):
    return create_app({
        "TESTING": True,
        "RURALPLAN_WORKSPACE": str(workspace.path),
        "SECRET_KEY": "test-secret",
        "SESSION_COOKIE_SECURE": False,
    })


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path="/auth/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, f"no csrf token on {path}"
    return match.group(1)


def login(client, username, password=PASSWORD):
    token = csrf_token(client)
    return client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def login_as(client):
    def do(username, password=PASSWORD):
        response = login(client, username, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do


# -- real Chromium (helpers in browser.py; modules opt in with ``pytestmark = BROWSER``) --------


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium under Playwright, launched once per session."""
    from .browser import ARGS, CHROMIUM, HAVE_CHROMIUM, SKIP_REASON

    if not HAVE_CHROMIUM:
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live_server():
    """``live_server(workspace_path, secret_key=...)`` -> base URL (or ``live_server.serve(app)``);
    the servers stop at the end of the module."""
    from .browser import LiveServers

    servers = LiveServers()
    yield servers
    servers.close()


@pytest.fixture
def open_page(browser):
    """``open_page(**context_options)`` -> a page in a fresh context, watched (``page.watch``);
    any request that tried to leave the machine fails the test."""
    from .browser import PageFactory

    pages = PageFactory(browser)
    yield pages
    external = pages.close()
    assert external == [], f"external requests (blocked): {external}"


@pytest.fixture
def page(open_page):
    """A watched page: 1366x850, zh-CN."""
    return open_page()
