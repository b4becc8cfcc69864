"""No page references the internet; translations are complete and compiled; CLI commands."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from click.testing import CliRunner

from web import create_app
from web.mapping import tile_hosts

from .conftest import login

URL_ATTRS = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']([^"']+)["']""", re.I)
CSS_URLS = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", re.I)
IMPORTS = re.compile(r"""@import\s+["']([^"']+)["']""", re.I)
BARE_URLS = re.compile(r"""["'(](?:https?:)?//[^"')\s]+""", re.I)

PAGES = ["/", "/map/", "/data/", "/auth/login", "/api/v1/openapi.json", "/nope"]


def external_urls(text: str, allowed_hosts=frozenset()) -> list[str]:
    found = URL_ATTRS.findall(text) + CSS_URLS.findall(text) + IMPORTS.findall(text)
    found += [u[1:] for u in BARE_URLS.findall(text)]
    bad = []
    for url in found:
        if url.startswith(("data:", "#", "mailto:", "javascript:void")):
            continue
        parts = urlsplit(urljoin("http://localhost/", url))
        host = parts.netloc.rsplit("@", 1)[-1].split(":")[0] if "{" in parts.netloc else (parts.hostname or "")
        if host in ("localhost", "127.0.0.1") or host in allowed_hosts:
            continue
        # XML/SVG namespaces are names, not requests
        if url.startswith("http://www.w3.org/"):
            continue
        bad.append(url)
    return bad


def _assets_of(html: str) -> list[str]:
    return [u for u in URL_ATTRS.findall(html) if u.startswith("/") and not u.startswith("//")]


@pytest.mark.parametrize("basemap", ["none", "osm", "tianditu-vec", "https://tiles.example.cn/{z}/{x}/{y}.png"])
def test_no_page_or_asset_loads_from_the_internet(workspace, basemap):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path), "SECRET_KEY": "x",
                      "SESSION_COOKIE_SECURE": False, "RURALPLAN_BASEMAP": basemap,
                      "RURALPLAN_TIANDITU_KEY": "testkey"})
    allowed = tile_hosts(basemap, "testkey")
    client = app.test_client()
    checked = set()
    for lang in ("zh", "en"):
        client.get(f"/lang/{lang}")
        for user in (None, "planner1"):
            if user:
                login(client, user)
            for page in PAGES:
                html = client.get(page).get_data(as_text=True)
                assert external_urls(html, allowed) == [], (page, basemap)
                for asset in _assets_of(html):
                    if asset in checked or not asset.endswith((".js", ".css")):
                        continue
                    checked.add(asset)
                    response = client.get(asset)
                    assert response.status_code == 200, asset
                    body = response.get_data(as_text=True)
                    if asset.endswith(".css"):
                        assert external_urls(body) == [], asset
                        for ref in CSS_URLS.findall(body):
                            if not ref.startswith("data:"):
                                target = urljoin(asset, ref)
                                assert client.get(target).status_code == 200, target
    assert any(a.endswith("leaflet.js") for a in checked)


def test_tile_hosts():
    assert tile_hosts("none") == set()
    assert "tile.openstreetmap.org" in tile_hosts("osm")
    assert "t0.tianditu.gov.cn" in tile_hosts("tianditu-img", "k")


def test_tianditu_key_never_needed_for_none_and_required_for_tianditu(workspace):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path), "SECRET_KEY": "x",
                      "RURALPLAN_BASEMAP": "tianditu-vec", "RURALPLAN_TIANDITU_KEY": "k123"})
    html = app.test_client().get("/map/").get_data(as_text=True)
    assert "tianditu.gov.cn" in html and "tk=k123" in html and "cva_w" in html


def test_offline_scanner_catches_cdn_links():
    assert external_urls('<script src="https://cdn.jsdelivr.net/x.js"></script>')
    assert external_urls('<link href="//unpkg.com/a.css">')
    assert external_urls("a { background: url(https://x.org/i.png) }")
    assert not external_urls('<script src="/vendor/leaflet/leaflet.js"></script>')


# --------------------------------------------------------------------------- translations
PO = Path(__file__).resolve().parents[2] / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def test_every_message_translated_and_mo_matches_po():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    with open(PO, "rb") as fh:
        po = read_po(fh)
    with open(PO.with_suffix(".mo"), "rb") as fh:
        mo = read_mo(fh)
    def texts(value):  # a plural entry's id and strings are sequences (tuple or list)
        return (value,) if isinstance(value, str) else tuple(value)

    untranslated = [m.id for m in po if m.id and not all(texts(m.string))]
    assert untranslated == []
    assert {texts(m.id): texts(m.string) for m in po if m.id} == {texts(m.id): texts(m.string) for m in mo if m.id}, \
        "messages.mo is stale: run pybabel compile -d web/translations"


def test_templates_and_code_messages_are_in_the_catalog():
    """Every msgid extracted from the sources now is in messages.po (no forgotten update)."""

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    with open(PO, "rb") as fh:
        known = {m.id for m in read_po(fh) if m.id}
    # planner/**: templates of data problems the pages translate (planner.pairings.PROBLEM_MESSAGES)
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2"), ("planner/**.py", "python")]
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(root), method_map, keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None,
                                             "N_": None}):
        if isinstance(message, str) and message:
            found.add(message)
    missing = sorted(found - known)
    assert missing == [], f"not in messages.po (run pybabel extract/update): {missing}"


# --------------------------------------------------------------------------- CLI
def test_user_add_cli(workspace):
    from web.cli import main
    from web.services.users import authenticate

    runner = CliRunner()
    result = runner.invoke(main, ["user", "add", "-w", str(workspace.path), "zhang", "--role", "town_reviewer",
                                  "--town", "东岭镇", "--password", "zhang123"])
    assert result.exit_code == 0, result.output
    user = authenticate(workspace, "zhang", "zhang123")
    assert user.role == "town_reviewer" and user.scope == "东岭镇"
    result = runner.invoke(main, ["user", "add", "-w", str(workspace.path), "li", "--role", "town_reviewer",
                                  "--password", "li123456"])
    assert result.exit_code != 0 and "--town" in result.output
    result = runner.invoke(main, ["user", "add", "-w", str(workspace.path), "wang", "--role", "planner"],
                           input="wang1234\nwang1234\n")
    assert result.exit_code == 0, result.output
    assert authenticate(workspace, "wang", "wang1234").role == "planner"


def test_passwords_are_hashed(workspace):
    with workspace.connect() as con:
        hashes = [r[0] for r in con.execute("SELECT password_hash FROM rp_users")]
    assert hashes and all(h.startswith(("scrypt:", "pbkdf2:")) for h in hashes)


def test_demo_users_one_per_role(workspace):
    from web.services.users import DEMO_USERS, ROLES, authenticate, ensure_demo_users

    accounts = ensure_demo_users(workspace)
    assert {role for _u, role, _p in accounts} == set(ROLES)
    for username, role, password, _scope in DEMO_USERS:
        assert authenticate(workspace, username, password).role == role


def test_serve_uses_waitress(workspace, monkeypatch):
    import waitress

    from web.cli import main

    calls = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.update(app=app, **kw))
    monkeypatch.delenv("RURALPLAN_COOKIE_SECURE", raising=False)
    result = CliRunner().invoke(main, ["serve", "-w", str(workspace.path), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls["port"] == 8123 and calls["host"] == "127.0.0.1"
    assert calls["app"].config["SESSION_COOKIE_SECURE"] is False  # plain http on loopback
    CliRunner().invoke(main, ["serve", "-w", str(workspace.path), "--host", "0.0.0.0"])
    assert calls["app"].config["SESSION_COOKIE_SECURE"] is True
