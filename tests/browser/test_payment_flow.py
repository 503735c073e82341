"""In Chromium: a citizen pays a dossier's fees through the pay page and gets the receipt.

The pay page loads the stripe.js that localstripe serves (``/js.stripe.com/v3/``), which
draws plain card inputs and talks to localstripe from the browser; the portal confirms on
its side and the return page asks the gateway. The portal is this worker's payments app on
a free loopback port with jobs inline (like test_filing_flow), so the receipt exists when
the return page is drawn. Here, not under tests/payments, so that it shares this worker's one
Chromium (``browser`` of tests/browser/conftest.py); it starts its own localstripe.
"""

from __future__ import annotations

import re

import pytest

from portal.accounts.passwords import hash_password
from portal.db import utcnow
from portal.extensions import db
from tests.conftest import _delete_all_rows, make_test_app
from tests.dossiers.support import make_user
from tests.payments.conftest import localstripe, payments_settings  # noqa: F401 - localstripe is a fixture
from tests.payments.support import make_dossier, payment_row

pytestmark = pytest.mark.browser

PASSWORD = "bánh mì pate trứng ốp la"


@pytest.fixture(scope="module")
def payments_server(_tmp_root, localstripe):  # noqa: F811 - the imported fixture
    """The portal with payments on localstripe, on http://127.0.0.1:<port>, jobs inline."""
    import threading

    from werkzeug.serving import make_server

    app = make_test_app(
        _tmp_root, "paymentslive", JOBS_MODE="inline", **payments_settings(_tmp_root / "live", localstripe)
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="payments-browser-server", daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live(payments_server):
    app, url = payments_server
    with app.app_context():
        yield url
        db.session.remove()
    _delete_all_rows(app)


@pytest.fixture
def page(browser, live):
    context = browser.new_context(base_url=live, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _card(page, number: str) -> None:
    frame = page.locator("#card-element")
    frame.locator("input[placeholder=number]").fill(number)
    frame.locator("input[placeholder=exp_month]").fill("12")
    frame.locator("input[placeholder=exp_year]").fill("30")
    frame.locator("input[placeholder=cvc]").fill("123")
    frame.locator("input[placeholder=postal_code]").fill("10000")


def _signed_in_with_a_dossier(page):
    user = make_user(email="lan.pham@example.vn", phone="0987111222", full_name="Phạm Thị Lan")
    user.password_hash = hash_password(PASSWORD)
    user.email_verified_at = utcnow()
    db.session.commit()
    _, dossier = make_dossier(user)
    page.goto("/tai-khoan/dang-nhap?lang=en")
    page.get_by_label("E-mail, mobile number or ID number").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/dang-nhap" not in url)
    return dossier


def test_a_citizen_pays_through_the_pay_page_and_downloads_the_receipt(page):
    dossier = _signed_in_with_a_dossier(page)
    page.goto(f"/ho-so/{dossier['id']}")
    assert page.locator("#fees-owed").inner_text().replace("\xa0", " ") == "200.000 đ"
    page.locator("#pay-fees").click()
    page.wait_for_url(re.compile(r"/thanh-toan/\d+$"))
    page.locator("#card-element input[placeholder=number]").wait_for()
    _card(page, "4242424242424242")
    page.locator("#pay-button").click()
    page.wait_for_url(re.compile(r"/thanh-toan/\d+/ket-qua$"))
    assert page.locator("#payment-state").get_attribute("data-state") == "succeeded"
    assert page.locator("#payment-state").inner_text() == "Paid"
    with page.expect_download() as download:
        page.locator("#receipt-link").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert download.value.suggested_filename.startswith("bien-lai-")
    # Back on the dossier page nothing is owed any more.
    page.goto(f"/ho-so/{dossier['id']}")
    assert page.locator("#fees-owed").inner_text().replace("\xa0", " ") == "0 đ"
    assert page.locator("#pay-fees").count() == 0


def test_a_3d_secure_card_failing_authentication_shows_an_unpaid_payment(page):
    dossier = _signed_in_with_a_dossier(page)
    page.goto(f"/ho-so/{dossier['id']}")
    page.locator("#pay-fees").click()
    page.wait_for_url(re.compile(r"/thanh-toan/\d+$"))
    payment_id = int(page.url.rsplit("/", 1)[1])
    page.locator("#card-element input[placeholder=number]").wait_for()
    _card(page, "4000002500003155")
    page.locator("#pay-button").click()
    # localstripe's stripe.js asks in a box of its own: fail the authentication.
    page.get_by_role("button", name="Fail authentication").click()
    page.wait_for_url(re.compile(r"/ket-qua$"))
    assert page.locator("#payment-state").get_attribute("data-state") == "failed"
    assert payment_row(payment_id).state == "failed"
