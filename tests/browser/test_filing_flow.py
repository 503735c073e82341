"""The citizen's whole way to a filed dossier, in real Chromium with JavaScript switched off,
on a 360px phone screen: register, confirm the e-mail, sign in, find birth registration,
fill its form, attach its documents, submit, read the receipt.

The portal runs on an app of this module's own (the real catalog imported into a writable
database; jobs inline, so the confirmation e-mail goes out during the request), served on
a free loopback port, its mail going to an aiosmtpd server on another.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from tests.conftest import MailCatcher, make_test_app
from tests.dossiers.support import pdf_bytes, png_bytes

pytestmark = pytest.mark.browser

EMAIL = "lan.pham@example.vn"
PASSWORD = "bánh mì pate trứng ốp la"
BIRTH = "1.001193"
CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mailbox():
    from aiosmtpd.controller import Controller

    catcher, port = MailCatcher(), _free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    catcher.server = f"127.0.0.1:{port}"
    yield catcher
    controller.stop()


@pytest.fixture(scope="module")
def filing_server(_tmp_root, mailbox):
    """The portal with the real catalog on a writable database, on http://127.0.0.1:<port>."""
    from werkzeug.serving import make_server

    from services_catalog.generate import AGENCIES_FILE, PROCEDURES_FILE, PROVINCES_FILE
    from services_catalog.importer import import_catalog
    from tests.browser.support import compile_translations

    compile_translations()
    app = make_test_app(
        _tmp_root,
        "filinglive",
        JOBS_MODE="inline",
        MAIL_SERVER=mailbox.server,
        UPLOAD_DIR=str(_tmp_root / "filinglive-uploads"),
    )
    with app.app_context():
        import_catalog(PROCEDURES_FILE, agencies_path=AGENCIES_FILE, provinces_path=PROVINCES_FILE)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url  # links in e-mails lead back to this server
    thread = threading.Thread(target=server.serve_forever, name="filing-live-server", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def phone(browser, filing_server):
    """A 360px-wide page with JavaScript off: everything has to work as plain HTML.
    (Reduced motion: without it every click first waits for a smooth scroll to end.)"""
    context = browser.new_context(
        base_url=filing_server,
        viewport={"width": 360, "height": 780},
        java_script_enabled=False,
        reduced_motion="reduce",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _mail_to(mailbox, address: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mailbox.to(address)
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no e-mail reached {address}")


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_new_citizen_registers_finds_birth_registration_files_it_and_gets_a_code_and_due_date(
    phone, mailbox
):
    page = phone
    # Register (in English: the page language is kept in a cookie) and confirm the address.
    page.goto("/tai-khoan/dang-ky?lang=en")
    page.get_by_label("Full name").fill("Phạm Thị Lan")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Mobile number").fill("0987111222")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I agree to the terms of use").check()
    page.get_by_role("button", name="Create account").click()
    link = re.search(
        r"https?://\S+/tai-khoan/xac-nhan-email\?token=\S+", mailbox.body(_mail_to(mailbox, EMAIL))
    )
    assert link, "the confirmation e-mail carries a link"
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm my e-mail address").click()
    page.wait_for_url("**/tai-khoan/dang-nhap")

    page.get_by_label("E-mail, mobile number or ID number").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/dang-nhap" not in url)

    # Find the procedure through the search page and choose a province to file with.
    page.goto("/thu-tuc")
    page.get_by_label("Search administrative procedures").fill("đăng ký khai sinh")
    page.get_by_role("button", name="Search", exact=True).click()
    page.locator(".results .card__title a", has_text=re.compile("^Thủ tục đăng ký khai sinh$")).click()
    page.wait_for_url(f"**/thu-tuc/{BIRTH}")
    page.get_by_role("link", name="Choose where to file online").click()
    page.locator("#online").get_by_role("link", name=re.compile("^File online")).first.click()
    page.wait_for_url(re.compile(r"/dich-vu/\d+/nop-ho-so$"))
    assert page.locator("h1").inner_text() == "Thủ tục đăng ký khai sinh"
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/ho-so/nhap/\d+$"))

    # The form: the account's name and phone are already there.
    assert page.get_by_label("Applicant's full name").input_value() == "Phạm Thị Lan"
    page.get_by_label(re.compile(r"^Date of birth\W*$")).fill("1994-03-08")
    page.get_by_label("Personal ID number (CCCD)").fill("001194000123")
    page.get_by_label("Province or city").select_option(label="Thành phố Hà Nội")
    page.get_by_label("Commune or ward").fill("Phường Hoàn Kiếm")
    page.get_by_label("House number, street, village").fill("5 Phố Tràng Tiền")
    page.get_by_label("Full name of the child").fill("Phạm Minh An")
    page.get_by_label("Date of birth of the child").fill("2025-09-01")
    page.get_by_label("Child's sex").select_option(label="Male")
    page.get_by_label("Place of birth").fill("Bệnh viện Phụ sản Hà Nội")
    page.get_by_label("Mother's full name").fill("Phạm Thị Lan")
    page.get_by_label("What you are asking for").fill("Đăng ký khai sinh cho con.")
    assert _fits_the_screen(page)
    page.get_by_role("button", name="Save draft").first.click()
    page.wait_for_load_state()
    assert page.get_by_label("Place of birth").input_value() == "Bệnh viện Phụ sản Hà Nội"

    # One file per required document, each sent by its own small form.
    required = page.locator(".slot:has(.tag--required)")
    for index in range(required.count()):
        slot = page.locator(".slot:has(.tag--required)").nth(index)
        payload = (
            {"name": f"giay-to-{index}.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
            if index % 2
            else {"name": f"anh-chup-{index}.png", "mimeType": "image/png", "buffer": png_bytes()}
        )
        slot.locator("input[type=file]").set_input_files(payload)
        slot.get_by_role("button", name="Attach").click()
        page.wait_for_load_state()
        assert page.locator(".slot:has(.tag--required)").nth(index).locator(".file__name").count() == 1

    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/ho-so/\d+/bien-nhan$"))
    code = page.locator("#dossier-code").inner_text().strip()
    assert CODE.fullmatch(code)
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} 17:00", page.locator("#due-date").inner_text().strip())
    assert _fits_the_screen(page)

    # The receipt leads to My dossiers, where the new dossier is listed.
    page.locator("main").get_by_role("link", name="My dossiers").click()
    page.wait_for_url("**/ho-so")
    assert code in page.locator("main").inner_text()
