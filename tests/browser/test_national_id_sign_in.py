"""Sign-in with the national identity account in real Chromium, through oidc-provider-mock.

The provider runs on loopback in a thread (oidc-provider-mock's own server); the portal on
a writable database of this module's own, served on another loopback port.
"""

from __future__ import annotations

import threading

import pytest
import requests

from tests.conftest import make_test_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def portal_with_provider(_tmp_root):
    from oidc_provider_mock import run_server_in_thread
    from werkzeug.serving import make_server

    from portal.accounts.oidc import register_provider

    with run_server_in_thread(require_nonce=True) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        app = make_test_app(
            _tmp_root,
            "oidclive",
            OIDC_ISSUER=issuer,
            OIDC_CLIENT_ID="opendvc",
            OIDC_CLIENT_SECRET="browser-test-secret",
        )
        register_provider(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="oidc-live-server", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", issuer
        finally:
            server.shutdown()
            thread.join(timeout=5)


def test_a_citizen_signs_in_with_the_national_identity_account_and_sees_the_account_page(
    browser, portal_with_provider
):
    portal, issuer = portal_with_provider
    requests.put(
        f"{issuer}/users/vneid-browser-1",
        timeout=5,
        json={"name": "Đỗ Minh Châu", "id_number": "079190000456"},
    ).raise_for_status()
    context = browser.new_context(base_url=portal, viewport={"width": 360, "height": 780})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/tai-khoan")  # the guard sends us to sign in, and back here afterwards
        page.get_by_role("link", name="Đăng nhập bằng tài khoản định danh điện tử").click()
        page.wait_for_url(f"{issuer}/**")
        page.locator("input[name=sub]").fill("vneid-browser-1")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{portal}/tai-khoan")
        assert page.get_by_role("heading", level=1).inner_text() == "Tài khoản của bạn"
        assert "Đỗ Minh Châu" in page.content()
        assert "079190000456" in page.content()
    finally:
        context.close()
