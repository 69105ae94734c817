"""funnel serve's accounts and security, in process: argon2 hashes, sign-in limits, session expiry, CSRF and the
upload limit through real requests to the application (httpx over ASGI)."""

from __future__ import annotations

import asyncio
import re
import secrets

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import Request, UploadFile

from streams.serve import audit
from streams.serve.accounts import service
from streams.serve.accounts.models import connect
from streams.serve.app import create_app, route_table
from streams.serve.security import read_upload
from streams.serve.settings import ServeSettings

KiB = 1024


@pytest.fixture
def settings(tmp_path) -> ServeSettings:
    return ServeSettings(db=tmp_path / "serve.sqlite3", secret=secrets.token_urlsafe(40), state_dir=tmp_path,
                         bulletins=tmp_path / "bulletins", secure_cookies=False)


def stored_hash(settings, name) -> str:
    with connect(settings.db) as db:
        return db.execute("SELECT password_hash FROM users WHERE username = ?", (name,)).fetchone()[0]


def test_a_password_is_kept_as_an_argon2id_hash_and_checked_against_it(settings):
    service.add_user(settings, "zhang", "department", "correct horse", department="区商务局")
    kept = stored_hash(settings, "zhang")
    assert kept.startswith("$argon2id$") and "correct horse" not in kept
    assert service.sign_in(settings, "zhang", "correct horse", "10.0.0.1").user.department == "区商务局"
    assert service.sign_in(settings, "zhang", "correct hors", "10.0.0.1").reason == "wrong"
    assert service.sign_in(settings, "nobody", "correct horse", "10.0.0.1").reason == "wrong"
    with pytest.raises(ValueError, match="department"):
        service.add_user(settings, "li", "department", "long enough")
    with pytest.raises(ValueError, match="at least"):
        service.add_user(settings, "li", "viewer", "short")
    with pytest.raises(ValueError, match="exists"):
        service.add_user(settings, "zhang", "viewer", "another one")


def test_a_hash_made_with_older_parameters_is_remade_at_sign_in(settings):
    service.add_user(settings, "wang", "bureau", "old parameters")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * KiB, parallelism=1).hash("old parameters")
    with connect(settings.db) as db:
        db.execute("UPDATE users SET password_hash = ? WHERE username = 'wang'", (weak,))
    assert service.HASHER.check_needs_rehash(stored_hash(settings, "wang"))
    assert service.sign_in(settings, "wang", "old parameters", None).user is not None
    remade = stored_hash(settings, "wang")
    assert remade != weak and not service.HASHER.check_needs_rehash(remade)
    assert service.HASHER.verify(remade, "old parameters")


def test_five_failures_lock_the_name_for_the_window_and_the_right_password_does_not_open_it(settings):
    service.add_user(settings, "zhao", "viewer", "the right one")
    t = 1_000_000.0
    for i in range(5):
        assert service.sign_in(settings, "zhao", "wrong", "10.0.0.2", now=t + i).reason == "wrong"
    locked = service.sign_in(settings, "zhao", "the right one", "10.0.0.3", now=t + 10)
    assert locked.reason == "limited" and locked.user is None
    assert 880 <= locked.retry_after <= 900  # until the oldest of the five leaves the 15-minute window
    assert service.sign_in(settings, "ZHAO ", "the right one", "10.0.0.3", now=t + 10).reason == "limited"
    assert service.sign_in(settings, "zhao", "the right one", "10.0.0.3", now=t + 901).user is not None
    # a success clears the name's count: four new failures do not lock it
    for i in range(4):
        service.sign_in(settings, "zhao", "wrong", "10.0.0.4", now=t + 1000 + i)
    assert service.sign_in(settings, "zhao", "the right one", "10.0.0.4", now=t + 1010).user is not None


def test_one_address_trying_many_names_is_limited_too(settings):
    settings = settings.with_(login_failures_per_address=3)  # 20 by default; each failure costs a hash
    service.add_user(settings, "qian", "viewer", "the right one")
    t = 2_000_000.0
    for i in range(settings.login_failures_per_address):
        service.sign_in(settings, f"guess{i}", "wrong", "10.9.9.9", now=t + i)
    assert service.sign_in(settings, "qian", "the right one", "10.9.9.9", now=t + 30).reason == "limited"
    assert service.sign_in(settings, "qian", "the right one", "10.9.9.8", now=t + 30).user is not None


def test_a_session_ends_after_eight_idle_hours_and_with_a_new_password_or_a_disabled_user(settings):
    user = service.add_user(settings, "sun", "bureau", "a password")
    t = 3_000_000.0
    sid = service.open_session(settings, user, now=t)
    assert service.session_user(settings, sid, now=t + 4 * 3600) == user  # touched: idle from here
    assert service.session_user(settings, sid, now=t + 12 * 3600 - 1) == user
    assert service.session_user(settings, sid, now=t + 20 * 3600 + 1) is None
    assert service.session_user(settings, sid, now=t + 12 * 3600) is None  # ended, not merely late
    sid = service.open_session(settings, user, now=t)
    service.set_password(settings, "sun", "a new password")
    assert service.session_user(settings, sid, now=t + 1) is None
    sid = service.open_session(settings, user, now=t)
    service.disable(settings, "sun")
    assert service.session_user(settings, sid, now=t + 1) is None
    assert service.sign_in(settings, "sun", "a new password", None, now=t + 2).reason == "disabled"


def client_of(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def sign_in(client: httpx.AsyncClient, name: str, password: str) -> str:
    """Sign in through the form; the page's CSRF token after it."""
    form = (await client.get("/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    done = await client.post("/login", data={"csrf_token": token, "username": name, "password": password})
    assert done.status_code == 303, done.text
    page = await client.get("/bulletins")
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def test_a_write_without_the_sessions_csrf_token_is_refused(settings):
    service.add_user(settings, "zhou", "bureau", "a password")
    app = create_app(settings)

    async def run():
        async with client_of(app) as client:
            form = (await client.get("/login")).text
            before = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            refused = await client.post("/login", data={"username": "zhou", "password": "a password"})
            assert refused.status_code == 403
            token = await sign_in(client, "zhou", "a password")
            assert token != before  # a fresh token with the fresh session
            assert (await client.post("/logout", data={"csrf_token": before})).status_code == 403
            assert (await client.post("/logout", data={})).status_code == 403
            assert (await client.post("/logout", headers={"X-CSRF-Token": "x" * 43})).status_code == 403
            assert (await client.get("/bulletins")).status_code == 200  # still signed in
            out = await client.post("/logout", headers={"X-CSRF-Token": token})
            assert out.status_code == 303 and out.headers["location"] == "/login"
            assert (await client.get("/bulletins")).status_code == 303

    asyncio.run(run())
    actions = [e["action"] for e in audit.entries(settings)]
    assert actions == ["signout", "signin"]


def test_every_route_refuses_without_a_session(settings):
    """Walks the router table, so that routes added later by any feature are covered."""
    app = create_app(settings)
    public = {"/login", "/healthz"}
    table = [(p, m) for p, m in route_table(app) if p not in public]
    assert ("/logout", frozenset({"POST"})) in table and any(p.startswith("/bulletins") for p, _ in table)

    async def run():
        async with client_of(app) as client:
            for path, methods in table:
                url = re.sub(r"\{[^}]+\}", "x", path)
                for method in methods - {"HEAD"}:
                    answer = await client.request(method, url)
                    where = f"{method} {path}"
                    if path.startswith("/api"):
                        assert answer.status_code == 401, where
                    else:
                        assert answer.status_code == 303, where
                        assert answer.headers["location"].startswith("/login?next="), where

    asyncio.run(run())


def upload_app(settings):
    """The application with one more route reading an upload through ``read_upload``."""
    app = create_app(settings)

    @app.post("/upload-for-test")
    async def upload(request: Request, file: UploadFile):
        return {"bytes": len(await read_upload(file, request.app.state.settings))}

    return app


def test_an_upload_over_the_limit_is_refused_while_it_streams_in(settings):
    settings = settings.with_(max_upload_bytes=256 * KiB)
    app = upload_app(settings)
    sent = 0

    async def body(size: int):
        nonlocal sent
        head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\n'
        yield head
        sent += len(head)
        while sent < size:
            yield b"x" * 16 * KiB
            sent += 16 * KiB
        yield b"\r\n--B--\r\n"

    async def run():
        nonlocal sent
        async with client_of(app) as client:
            small = await client.post("/upload-for-test", files={"file": ("a.xlsx", b"y" * 100 * KiB)})
            assert small.status_code == 200 and small.json() == {"bytes": 100 * KiB}
            # over read_upload's limit but within the body's slack for form fields: read_upload refuses it
            near = await client.post("/upload-for-test", files={"file": ("a.xlsx", b"y" * 300 * KiB)})
            assert near.status_code == 413 and "上传文件过大" in near.text
            # declared too long: refused before a byte of the body is read
            declared = await client.post("/upload-for-test", content=b"z" * 400 * KiB,
                                         headers={"content-type": "multipart/form-data; boundary=B"})
            assert declared.status_code == 413
            # chunked, no length: refused as it streams, having read no more than the limit and a chunk
            sent = 0
            streamed = await client.post("/upload-for-test", content=body(25 * 1024 * KiB),
                                         headers={"content-type": "multipart/form-data; boundary=B"})
            assert streamed.status_code == 413 and "text/html" in streamed.headers["content-type"]
            assert sent <= 256 * KiB + 64 * KiB + 32 * KiB

    asyncio.run(run())


def test_pages_carry_the_security_headers_and_a_csp_with_no_other_origin(settings):
    app = create_app(settings)

    async def run():
        async with client_of(app) as client:
            cookie = (await client.get("/login")).headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
            for path in ("/login", "/static/app.css", "/bulletins"):
                answer = await client.get(path)
                csp = answer.headers["content-security-policy"]
                assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
                assert "http" not in csp and "*" not in csp
                assert answer.headers["x-content-type-options"] == "nosniff"
                assert answer.headers["referrer-policy"] == "same-origin"

    asyncio.run(run())
    secure = create_app(settings.with_(secure_cookies=True))

    async def run_secure():
        async with client_of(secure) as client:
            assert "secure" in (await client.get("/login")).headers["set-cookie"].lower()

    asyncio.run(run_secure())


def test_signing_in_again_makes_a_new_session_id_and_ends_the_old_one(settings):
    service.add_user(settings, "wu", "bureau", "a password")
    service.add_user(settings, "zheng", "viewer", "b password")
    app = create_app(settings)

    def sid_of(client) -> str:
        import base64
        import json

        value = client.cookies["funnel_session"].split(".")[0]
        return json.loads(base64.b64decode(value + "=" * (-len(value) % 4)))["sid"]

    async def run():
        async with client_of(app) as client:
            token = await sign_in(client, "wu", "a password")
            first = sid_of(client)
            planted = client.cookies["funnel_session"]
            again = await client.post("/login", data={"csrf_token": token, "username": "zheng",
                                                      "password": "b password"})
            assert again.status_code == 303
            assert sid_of(client) != first
            assert service.session_user(settings, first) is None
            assert service.session_user(settings, sid_of(client)).username == "zheng"
        async with client_of(app) as other:  # the first session's cookie, replayed elsewhere, is dead
            other.cookies.set("funnel_session", planted)
            assert (await other.get("/bulletins")).status_code == 303

    asyncio.run(run())
