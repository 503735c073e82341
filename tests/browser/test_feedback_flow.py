"""In Chromium: a citizen sends feedback, an agent answers it with a canned response, the
citizen sees the reply on the ticket's page and gets it by e-mail.

The portal runs on an app of this module's own (jobs inline, mail to an aiosmtpd server),
served on a free loopback port; JavaScript is off, as the pages need none.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from tests.conftest import MailCatcher
from tests.staff.support import PASSWORD as STAFF_PASSWORD

pytestmark = pytest.mark.browser

CITIZEN_EMAIL = "minh.tran@example.vn"
CITIZEN_PASSWORD = "cà phê sữa đá buổi sáng"
CANNED = "Cảm ơn ông/bà đã phản ánh. Hồ sơ đã được chuyển để xử lý ngay trong tuần này."


@pytest.fixture(scope="module")
def mailbox():
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    catcher = MailCatcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    catcher.server = f"127.0.0.1:{port}"
    yield catcher
    controller.stop()


@pytest.fixture(scope="module")
def feedback_server(_tmp_root, mailbox):
    from werkzeug.serving import make_server

    from tests.browser.support import compile_translations
    from tests.conftest import _delete_all_rows, make_test_app

    compile_translations()
    app = make_test_app(_tmp_root, "feedbacklive", JOBS_MODE="inline", MAIL_SERVER=mailbox.server)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="feedback-live-server", daemon=True)
    thread.start()
    try:
        yield app, url
    finally:
        server.shutdown()
        thread.join(timeout=5)
        _delete_all_rows(app)


@pytest.fixture
def people(feedback_server):
    """A citizen with a confirmed account, an agent, and a supervisor's canned response."""
    from portal.accounts.passwords import hash_password
    from portal.db import utcnow
    from portal.extensions import db
    from portal.feedback import desk
    from tests.dossiers.support import make_user
    from tests.staff.support import make_staff

    app, _url = feedback_server
    with app.app_context():
        user = make_user(full_name="Trần Văn Minh", email=CITIZEN_EMAIL, phone="0977000111")
        user.password_hash, user.email_verified_at = hash_password(CITIZEN_PASSWORD), utcnow()
        db.session.commit()
        agent = make_staff("agent", email="hotro@dichvucong.example.vn", full_name="Lê Hỗ Trợ")
        supervisor = make_staff("supervisor")
        with app.test_request_context("/"):
            desk.save_canned(
                supervisor, None, unsafe_title="Đã chuyển xử lý", unsafe_body=CANNED, category=None
            )
        agent_id = agent.id
        db.session.remove()
    return {"agent_id": agent_id}


def _context(browser, url):
    return browser.new_context(base_url=url, java_script_enabled=False, reduced_motion="reduce")


def _mail(mailbox, address: str, subject_part: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mailbox.to(address):
            if subject_part in str(message["Subject"]):
                return message
        time.sleep(0.05)
    raise AssertionError(f"no e-mail about {subject_part!r} reached {address}")


def test_a_citizen_sends_feedback_an_agent_answers_with_a_canned_response_and_the_citizen_sees_it(
    browser, feedback_server, people, mailbox
):
    app, url = feedback_server
    citizen_context, staff_context = _context(browser, url), _context(browser, url)
    try:
        citizen = citizen_context.new_page()
        citizen.set_default_timeout(10_000)
        citizen.goto("/tai-khoan/dang-nhap?lang=en")
        citizen.get_by_label("E-mail, mobile number or ID number").fill(CITIZEN_EMAIL)
        citizen.get_by_label("Password").fill(CITIZEN_PASSWORD)
        citizen.get_by_role("button", name="Sign in", exact=True).click()
        citizen.wait_for_url(lambda u: "/dang-nhap" not in u)

        citizen.goto("/phan-anh-kien-nghi/gui")
        citizen.get_by_label("What is it about?").select_option("dossier")
        citizen.get_by_label("Title").fill("Hồ sơ cấp phiếu lý lịch tư pháp quá hạn")
        citizen.get_by_label("Content").fill("Tôi nộp hồ sơ đã ba tuần, quá hạn hẹn trả mà chưa có kết quả.")
        citizen.get_by_role("button", name="Send", exact=True).click()
        citizen.wait_for_url(re.compile(r".*/phan-anh-kien-nghi/PA-\d{6}-\d+$"))
        number = citizen.url.rsplit("/", 1)[-1]
        assert citizen.locator("#ticket-status").inner_text() == "Received"
        _mail(mailbox, CITIZEN_EMAIL, number)  # the confirmation

        staff = staff_context.new_page()
        staff.set_default_timeout(10_000)
        staff.goto("/quan-tri/dang-nhap?lang=en")
        staff.get_by_label("E-mail").fill("hotro@dichvucong.example.vn")
        staff.get_by_label("Password").fill(STAFF_PASSWORD)
        staff.get_by_role("button", name="Continue").click()
        staff.wait_for_url("**/quan-tri/xac-thuc")
        with app.app_context():
            from portal.extensions import db
            from portal.staff.models import StaffUser
            from tests.staff.support import next_code

            code = next_code(db.session.get(StaffUser, people["agent_id"]))
            db.session.remove()
        staff.get_by_label("Six-digit code from your authenticator app").fill(code)
        staff.get_by_role("button", name="Sign in").click()
        staff.wait_for_url("**/quan-tri/")
        staff.get_by_role("link", name="Feedback tickets").click()
        staff.get_by_role("link", name=number).click()
        staff.get_by_label("Canned response").select_option(label="Đã chuyển xử lý")
        staff.get_by_role("button", name="Use", exact=True).click()
        assert staff.get_by_label("Reply to the citizen").input_value() == CANNED
        staff.get_by_role("button", name="Send reply").click()
        assert staff.locator("#ticket-status").inner_text().startswith("Answered")

        citizen.reload()
        assert citizen.locator("#ticket-status").inner_text() == "Answered"
        assert CANNED in citizen.locator(".message--staff").inner_text()
        reply = _mail(mailbox, CITIZEN_EMAIL, "Reply")
        assert CANNED in mailbox.body(reply) and number in str(reply["Subject"])
    finally:
        citizen_context.close()
        staff_context.close()
