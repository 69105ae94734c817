from tests.browser import browser_page, chromium, serve_app, signed_in  # noqa

def test_smoke(serve_app, browser_page):
    server = serve_app()
    user = server.make_user("department", "区商务局")
    signed_in(browser_page, server, user, "/healthz")
    assert "ok" in browser_page.content()
    assert browser_page.external_requests == []
