"""funnel serve's core in a real headless Chromium: sign-in and sign-out, the sign-in limit, no route without a
session, CSRF, the bulletins made, listed and downloaded (read back with python-docx and pdftotext), the phone
layout. One server per module, on a replay directory of a generated feed."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import docx
import httpx
import pytest

from streams.core.clock import today_cst
from tests.browser import signed_in  # the fixtures serve_app, chromium, browser_page come from tests/conftest.py


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory):
    """A replay directory of a generated feed of 120 projects (its as-of is today)."""
    work = tmp_path_factory.mktemp("serve-core-data")
    for args in (["generate", "--out", str(work / "feed.jsonl"), "--projects", "120"],
                 ["replay", "--from-file", str(work / "feed.jsonl"), "--out", str(work / "replay"), "--no-check"]):
        subprocess.run([sys.executable, "-m", "streams.cli", *args], check=True, capture_output=True, timeout=300)
    return work / "replay"


@pytest.fixture(scope="module")
def server(serve_app, replay_dir):
    return serve_app(source=replay_dir)


def audit_of(server, action: str) -> list[dict]:
    return json.loads(server.funnel("users", "audit", "--json", "--action", action).stdout)


def test_sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session(server, browser_page):
    page = browser_page
    user = server.make_user("department", "区商务局", display_name="张三")
    page.goto(server.url + "/bulletins")
    assert "/login?next=%2Fbulletins" in page.url
    signed_in(page, server, user, "/bulletins")
    assert page.url == server.url + "/bulletins"
    assert "张三（区商务局）" in page.inner_text("header")
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["name"] == "funnel_session"
    page.click("form.logout button")
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(server.url + "/bulletins")
    assert "/login" in page.url
    assert [e["username"] for e in audit_of(server, "signin")].count(user.username) == 1
    assert [e["username"] for e in audit_of(server, "signout")] == [user.username]
    assert page.external_requests == []


def test_wrong_passwords_are_limited_with_retry_after_and_audited(server, browser_page):
    page = browser_page
    user = server.make_user("viewer")
    page.goto(server.url + "/login")
    for _ in range(5):
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "not the password")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("button[type=submit]")
        assert answer.value.status == 401
        assert "用户名或密码错误" in page.inner_text(".alert")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.password)  # the right one: still refused inside the window
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 429 and 850 < int(answer.value.headers["retry-after"]) <= 900
    assert "登录失败次数过多" in page.inner_text(".alert") and "/login" in page.url
    assert len([e for e in audit_of(server, "signin_failed") if e["username"] == user.username]) == 5
    [limited] = [e for e in audit_of(server, "signin_limited") if e["username"] == user.username]
    assert limited["address"] == "127.0.0.1"


def test_no_route_answers_without_a_session(server, browser_page):
    """Walks the application's router table: routes added by any feature are checked too."""
    from streams.serve.app import PUBLIC_PATHS, create_app, route_table
    from streams.serve.settings import ServeSettings

    app = create_app(ServeSettings(db=server.home / "probe.sqlite3", secret="p" * 40, state_dir=server.home))
    table = [(p, m) for p, m in route_table(app) if p not in PUBLIC_PATHS]
    assert len(table) >= 5
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        for path, methods in table:
            url = re.sub(r"\{[^}]+\}", "x", path)
            for method in sorted(methods - {"HEAD"}):
                answer = client.request(method, url)
                expected = 401 if path.startswith("/api") else 303
                assert answer.status_code == expected, f"{method} {path}: {answer.status_code}"
                if expected == 303:
                    assert answer.headers["location"].startswith("/login?next="), path
    for path, methods in table:
        if "GET" in methods and not path.startswith("/api") and "{" not in path:
            browser_page.goto(server.url + path)
            assert browser_page.url.startswith(server.url + "/login?next="), path


def test_a_form_post_without_the_csrf_token_is_refused(server, browser_page):
    page = browser_page
    signed_in(page, server, server.make_user("bureau"), "/bulletins")
    token = page.get_attribute("meta[name=csrf-token]", "content")
    period = today_cst().strftime("%Y-%m")
    refused = page.request.post(server.url + "/bulletins/generate", form={"period": period}, max_redirects=0)
    assert refused.status == 403 and "CSRF" in refused.text()
    refused = page.request.post(server.url + "/bulletins/generate", max_redirects=0,
                                form={"period": period, "csrf_token": token[:-2] + "xx"})
    assert refused.status == 403
    assert not (server.bulletins / f"bulletin-{period}.docx").exists()
    assert page.request.post(server.url + "/logout", max_redirects=0).status == 403
    page.goto(server.url + "/bulletins")
    assert page.url.endswith("/bulletins")  # the refused sign-out left the session alone


def test_the_bureau_makes_the_current_bulletin_which_is_listed_and_downloads_as_docx_and_pdf(server, browser_page,
                                                                                           tmp_path):
    page = browser_page
    signed_in(page, server, server.make_user("bureau"), "/bulletins")
    month = today_cst().strftime("%Y-%m")
    title = f"二七区招商引资项目{today_cst().year}年{today_cst().month}月通报"
    page.select_option("select[name=period]", month)
    page.click("#make-bulletin button[type=submit]")
    page.wait_for_url(re.compile(r"made="), timeout=300_000)
    row = page.locator(f"tr[data-period='{month}']")
    assert title in row.inner_text()
    with page.expect_download() as got:
        row.locator("a.download-docx").click()
    assert got.value.suggested_filename == f"{title}.docx"
    got.value.save_as(tmp_path / "b.docx")
    paragraphs = [p.text for p in docx.Document(tmp_path / "b.docx").paragraphs]
    assert title in paragraphs
    with page.expect_download() as got:
        row.locator("a.download-pdf").click()
    assert got.value.suggested_filename == f"{title}.pdf"
    got.value.save_as(tmp_path / "b.pdf")
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(tmp_path / "b.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert title in text.replace(" ", "")
    answer = page.request.get(f"{server.url}/bulletins/{month}/docx")
    assert answer.headers["content-type"] == ("application/vnd.openxmlformats-officedocument"
                                              ".wordprocessingml.document")
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    assert page.request.get(f"{server.url}/bulletins/..%2F..%2Fserve.secret/docx").status == 404
    [made] = audit_of(server, "bulletin_made")
    assert made["detail"]["period"] == month
    assert page.external_requests == []


def test_a_viewer_sees_the_bulletins_but_cannot_make_one(server, browser_page):
    page = browser_page
    signed_in(page, server, server.make_user("viewer"), "/bulletins")
    assert page.locator("#make-bulletin").count() == 0
    token = page.get_attribute("meta[name=csrf-token]", "content")
    refused = page.request.post(server.url + "/bulletins/generate", max_redirects=0,
                                form={"period": today_cst().strftime("%Y"), "csrf_token": token})
    assert refused.status == 403 and "区商务局" in refused.text()


def test_on_a_phone_the_nav_folds_behind_the_menu_button(server, chromium):
    user = server.make_user("department", "马寨镇")
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   locale="zh-CN")
    try:
        page = context.new_page()
        signed_in(page, server, user, "/bulletins")
        link = page.locator("nav.nav a", has_text="通报")
        assert not link.is_visible()
        page.tap("label.nav-toggle-label")
        assert link.is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the screen
    finally:
        context.close()


def self_signed(where) -> tuple[str, str]:
    """A certificate and key for 127.0.0.1 (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    (where / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (where / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                      serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return str(where / "cert.pem"), str(where / "key.pem")


def test_over_https_the_session_cookie_is_secure(serve_app, replay_dir, chromium, tmp_path):
    cert, key = self_signed(tmp_path)
    server = serve_app(source=replay_dir, args=("--tls-cert", cert, "--tls-key", key))
    assert server.url.startswith("https://")
    user = server.make_user("viewer")
    context = chromium.new_context(ignore_https_errors=True, locale="zh-CN")
    try:
        page = context.new_page()
        signed_in(page, server, user, "/bulletins")
        assert page.url == server.url + "/bulletins"
        [cookie] = context.cookies()
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    finally:
        context.close()
    with httpx.Client(verify=False) as client:
        assert "secure" in client.get(server.url + "/login").headers["set-cookie"].lower()


def test_from_the_topic_the_bulletin_made_on_the_page_is_the_replays(serve_app, replay_dir, bootstrap, topic,
                                                                      chromium, tmp_path):
    """Without --source the page makes the bulletin from a replay of the topic: the same document as
    funnel bulletin on a replay directory of that topic."""
    from tests.integration.test_bulletin import docx_text
    from tests.integration.test_ingest import funnel

    feed = replay_dir.parent / "feed.jsonl"
    funnel("ingest", str(feed), "--topic", topic, bootstrap=bootstrap)
    funnel("replay", "--topic", topic, "--out", str(tmp_path / "replay"), "--no-check", bootstrap=bootstrap)
    month = today_cst().strftime("%Y-%m")
    funnel("bulletin", "--period", month, "--source", str(tmp_path / "replay"), "--out", str(tmp_path / "cli"),
           "--format", "docx", bootstrap=bootstrap)
    server = serve_app(args=("--bootstrap-servers", bootstrap, "--topic", topic))
    context = chromium.new_context(locale="zh-CN", accept_downloads=True)
    try:
        page = context.new_page()
        signed_in(page, server, server.make_user("bureau"), "/bulletins")
        page.select_option("select[name=period]", month)
        page.click("#make-bulletin button[type=submit]")
        page.wait_for_url(re.compile(r"made="), timeout=300_000)
        with page.expect_download() as got:
            page.locator(f"tr[data-period='{month}'] a.download-docx").click()
        got.value.save_as(tmp_path / "web.docx")
    finally:
        context.close()
    paragraphs, tables = docx_text(tmp_path / "web.docx")
    assert tables and any("谋划" in c for t in tables for row in t for c in row)
    assert (paragraphs, tables) == docx_text(tmp_path / "cli" / f"bulletin-{month}.docx")
