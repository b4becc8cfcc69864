"""Bounded work per request and login throttling (issue 14): upload limits from the
workspace settings, a per-caller cap on heavy analyses (429), throttled logins (429)."""
from __future__ import annotations

import io
import zipfile

import pytest

from web.services import runlimit
from web.services.throttle import LoginThrottle, TooManyLogins

from .conftest import PASSWORD, csrf_token

MB = 1024 * 1024
CSV = "代码,村名,乡镇,经度,纬度,人口\n" + "".join(
    f"41100099{i:04d},新村{i},东岭镇,111.05,34.05,800\n" for i in range(30))


def _bomb(mb: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("roads.shp", "w") as member:
        for _ in range(mb):
            member.write(bytes(MB))  # zeros: ~1 KB per MB
    return buf.getvalue()


def _import(client, name, data):
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    return client.post("/api/v1/layers/villages/import", headers={"X-CSRFToken": token},
                       data={"file": (io.BytesIO(data), name)})


def test_zip_bomb_upload_is_refused_before_reading(client, login_as, workspace):
    workspace.set_meta(upload_limits={"max_unzipped_mb": 8})
    before = workspace.path.read_bytes()
    login_as("planner1")
    response = _import(client, "roads.zip", _bomb(20))
    assert response.status_code == 413
    message = response.get_json()["error"]["message"]
    assert "roads.zip" in message and "8" in message and "max_unzipped_mb" in message
    assert workspace.path.read_bytes() == before


def test_row_limit_is_a_county_setting(client, login_as, workspace):
    login_as("planner1")
    workspace.set_meta(upload_limits={"max_rows": 10})
    response = _import(client, "村.csv", CSV.encode())
    assert response.status_code == 413
    message = response.get_json()["error"]["message"]
    assert "村.csv" in message and "10" in message and "max_rows" in message
    workspace.set_meta(upload_limits={"max_rows": 100})  # the county raises it
    response = _import(client, "村.csv", CSV.encode())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["added"]["villages"] == 30


def test_row_limit_on_the_data_page(client, login_as, workspace):
    login_as("planner1")
    workspace.set_meta(upload_limits={"max_rows": 10})
    response = client.post("/data/upload", data={
        "csrf_token": csrf_token(client, "/data/"), "layer": "villages", "crs": "wgs84",
        "file": (io.BytesIO(CSV.encode()), "村.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "max_rows" in response.get_data(as_text=True)


def test_heavy_runs_per_caller():
    with runlimit.heavy_run("user:a", limit=2), runlimit.heavy_run("user:a", limit=2):
        assert runlimit.running("user:a") == 2
        with pytest.raises(runlimit.TooManyRuns) as info:
            with runlimit.heavy_run("user:a", limit=2):
                pass
        assert info.value.http_status == 429 and info.value.params["retry_after_s"] > 0
        with runlimit.heavy_run("user:b", limit=2):  # another caller is not affected
            pass
    assert runlimit.running("user:a") == 0 and "user:a" not in runlimit._running  # nothing kept


def test_heavy_api_run_answers_429_with_retry_after(client, app):
    app.config["RURALPLAN_HEAVY_RUNS_PER_USER"] = 1
    from web.services import netdata

    netdata.clear_cache()
    with runlimit.heavy_run("addr:127.0.0.1", limit=1):  # the same anonymous caller, busy
        response = client.get("/api/v1/network/od?from=villages&to=towns")
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        assert response.get_json()["error"]["type"] == "runs.busy"
    assert client.get("/api/v1/network/od?from=villages&to=towns").status_code == 200
    netdata.clear_cache()


def test_throttle_unit():
    now = [0.0]
    t = LoginThrottle(free_failures={"user": 3, "addr": 5}, base_delay_s=2, max_delay_s=60, max_keys=4,
                      forget_after_s=100, clock=lambda: now[0])
    keys = ("user:alice", "addr:1.2.3.4")
    for _ in range(3):
        t.check(keys)
        t.failure(keys)
    assert t.wait_s(keys) == 2  # after the 3rd failure of alice: 2 s
    with pytest.raises(TooManyLogins) as info:
        t.check(keys)
    assert info.value.http_status == 429 and info.value.params["retry_after_s"] == 3
    now[0] += 2
    t.failure(keys)
    assert t.wait_s(keys) == 4  # doubles
    now[0] += 4
    for _ in range(20):
        t.failure(keys)
    assert t.wait_s(keys) == 60  # capped
    t.success(keys[:1])
    assert t.wait_s(("user:alice",)) == 0 and t.wait_s(("addr:1.2.3.4",)) == 60  # the address stays slowed
    for i in range(10):
        t.failure((f"user:u{i}",))
    assert len(t) <= 4  # bounded memory
    now[0] += 1000
    assert t.wait_s(("user:u9",)) == 0


def test_login_is_throttled_per_user_name(client, app):
    app.config["RURALPLAN_LOGIN_THROTTLE"] = {"free_failures": {"user": 3, "addr": 100}, "base_delay_s": 30}

    def attempt(password, user="planner1"):
        return client.post("/auth/login", data={"username": user, "password": password,
                                                "csrf_token": csrf_token(client)})

    for _ in range(3):
        assert attempt("wrong").status_code == 401  # the 3rd failure starts the lock-out
    locked = attempt(PASSWORD)  # even the right password waits
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 31
    assert "次" in locked.get_data(as_text=True) or "Too many" in locked.get_data(as_text=True)
    assert attempt(PASSWORD, user="admin1").status_code == 302  # other accounts are not locked
