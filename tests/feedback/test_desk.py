"""The support desk: SLA and overdue, replies and internal notes, merge, link, forward,
phone calls, canned responses, and an audit entry for every action."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.extensions import db
from portal.feedback import desk, queries, sla
from portal.feedback.models import PhoneCall, Ticket
from tests.dossiers.support import make_user
from tests.dossiers.test_following_pages import sign_in_citizen
from tests.feedback.support import send_feedback
from tests.staff.support import make_agencies, make_staff, sign_in_staff
from tests.staff.world import make_ticket
from tests.web import submit_form

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "GHI-CHU-NOI-BO-7f3a: người này hay gọi điện, đã kiểm tra sổ"


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def agent(app):
    make_agencies()
    return make_staff("agent")


# ------------------------------------------------------------------------------ the SLA


def test_due_dates_count_working_days_per_category(app):
    friday = datetime(2026, 10, 9, 10, 0, tzinfo=VN)
    assert sla.due_at("portal", friday).astimezone(VN) == datetime(2026, 10, 14, 17, 0, tzinfo=VN)
    assert sla.due_at("dossier", friday).astimezone(VN) == datetime(2026, 10, 16, 17, 0, tzinfo=VN)
    # The same calendar as dossiers: 24 November (Vietnamese Culture Day) is a day off.
    assert sla.due_at("portal", datetime(2026, 11, 20, 10, 0, tzinfo=VN)).astimezone(VN).day == 26
    # Over Tết 2027: from a Thursday before it, three working days land after the holiday.
    assert sla.due_at("portal", datetime(2027, 2, 4, 9, 0, tzinfo=VN)).astimezone(VN) == datetime(
        2027, 2, 16, 17, 0, tzinfo=VN
    )
    app.config["FEEDBACK_SLA_WORKING_DAYS"] = "portal:1"
    try:
        assert sla.due_at("portal", friday).astimezone(VN) == datetime(2026, 10, 12, 17, 0, tzinfo=VN)
        assert sla.due_at("conduct", friday).astimezone(VN) == datetime(
            2026, 10, 23, 17, 0, tzinfo=VN
        )  # default 10
    finally:
        app.config["FEEDBACK_SLA_WORKING_DAYS"] = "dossier:5,conduct:10,regulation:15,portal:3"


def test_a_ticket_past_its_due_date_is_overdue_until_answered_and_waiting_is_not_the_desks_delay(
    app, jobs, agent
):
    ticket = make_ticket(app)
    now = utcnow()
    assert not sla.is_overdue("new", ticket.due_at, now)
    ticket.due_at = now - timedelta(minutes=1)
    db.session.commit()
    [row] = queries.queue(agent, "overdue")[0]
    assert row["overdue"] is True and row["number"] == ticket.number
    assert queries.queue_counts(agent)["overdue"] == 1
    with app.test_request_context("/"):
        desk.reply(agent, ticket.id, "Chúng tôi cần thêm giấy tờ.", then="waiting")
    assert queries.queue(agent, "overdue")[0] == []
    with app.test_request_context("/"):
        desk.set_status(agent, ticket.id, "open")
    assert len(queries.queue(agent, "overdue")[0]) == 1
    with app.test_request_context("/"):
        desk.reply(agent, ticket.id, "Đã giải quyết.")
    assert queries.queue(agent, "overdue")[0] == []


# --------------------------------------------------------------- replies and internal notes


def test_internal_notes_never_reach_the_citizen_by_page_e_mail_or_json(app, client, jobs, smtp, agent):
    citizen = sign_in_citizen(client)
    send_feedback(client)
    ticket = db.session.scalar(sa.select(Ticket))
    with app.test_request_context("/"):
        desk.note(agent, ticket.id, SECRET)
        desk.reply(agent, ticket.id, "Chúng tôi đã chuyển hồ sơ của ông/bà cho Sở Tư pháp.")
        desk.note(agent, ticket.id, SECRET + " (lần 2)")
        desk.set_status(agent, ticket.id, "open")
        desk.reply(agent, ticket.id, "Sở đã xử lý xong.", then="answered")
    jobs()
    seen = [
        client.get(f"/phan-anh-kien-nghi/{ticket.number}").get_data(as_text=True),
        client.get(f"/phan-anh-kien-nghi/{ticket.number}", headers={"Accept": "application/json"}).get_data(
            as_text=True
        ),
        client.get("/phan-anh-kien-nghi/gui").get_data(as_text=True),
        client.get("/hoi-dap").get_data(as_text=True),
    ]
    mails = smtp.to(citizen.email)
    assert len(mails) == 3  # received, two replies
    seen += [str(m["Subject"]) + smtp.body(m) for m in mails]
    assert "Sở đã xử lý xong." in seen[0] and "Sở đã xử lý xong." in seen[-1]
    assert not [text for text in seen if "GHI-CHU-NOI-BO" in text]
    assert "GHI-CHU-NOI-BO" not in str(queries.public_view(db.session.get(Ticket, ticket.id)))
    # Staff do see them.
    staff_client = app.test_client()
    sign_in_staff(staff_client, agent)
    assert (
        staff_client.get(f"/quan-tri/phan-anh/{ticket.id}").get_data(as_text=True).count("GHI-CHU-NOI-BO")
        == 2
    )


def test_a_public_reply_through_the_page_with_a_canned_response_reaches_the_citizen(
    app, client, jobs, smtp, agent
):
    citizen = sign_in_citizen(client)
    send_feedback(client)
    ticket = db.session.scalar(sa.select(Ticket))
    supervisor = make_staff("supervisor")
    with app.test_request_context("/"):
        canned = desk.save_canned(
            supervisor,
            None,
            unsafe_title="Đã tiếp nhận",
            unsafe_body="Cảm ơn ông/bà. Chúng tôi đã xử lý phản ánh.",
            category="dossier",
        )
    staff_client = app.test_client()
    sign_in_staff(staff_client, agent)
    page = staff_client.get(f"/quan-tri/phan-anh/{ticket.id}?mau={canned.id}").get_data(as_text=True)
    assert "Cảm ơn ông/bà. Chúng tôi đã xử lý phản ánh." in page
    response = submit_form(
        staff_client,
        f"/quan-tri/phan-anh/{ticket.id}/tra-loi",
        {"body": "Cảm ơn ông/bà. Chúng tôi đã xử lý phản ánh.", "then": "answered"},
        get_url=f"/quan-tri/phan-anh/{ticket.id}",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (
        db.session.get(Ticket, ticket.id).status == "answered"
        and db.session.get(Ticket, ticket.id).assignee_id == agent.id
    )
    jobs()
    assert "Chúng tôi đã xử lý phản ánh." in smtp.body(smtp.to(citizen.email)[-1])
    assert "ticket.replied" in audit_actions()


@pytest.mark.parametrize("body", ["", "x", "y" * 10_001])
def test_empty_or_oversized_replies_are_refused_and_nothing_is_sent(app, jobs, agent, body):
    ticket = make_ticket(app)
    with app.test_request_context("/"), pytest.raises(ValidationFailed):
        desk.reply(agent, ticket.id, body)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "new" and "ticket.replied" not in audit_actions()


def test_status_moves_follow_the_workflow_and_closed_tickets_can_be_reopened(app, jobs, agent):
    ticket = make_ticket(app)
    with app.test_request_context("/"):
        with pytest.raises(Conflict):
            desk.set_status(agent, ticket.id, "waiting")  # new → waiting: not a move
        desk.set_status(agent, ticket.id, "open")
        desk.set_status(agent, ticket.id, "closed")
        desk.set_status(agent, ticket.id, "open")
    history = queries.staff_view(agent, ticket.id)["events"]
    assert [e["action"] for e in history] == ["received", "status", "status", "reopened"]
    assert audit_actions().count("ticket.status") == 3


def test_assigning_records_who_and_refuses_inactive_staff(app, jobs, agent):
    ticket = make_ticket(app)
    colleague = make_staff("agent", email="b@dichvucong.example.vn")
    colleague.is_active = False
    db.session.commit()
    with app.test_request_context("/"):
        with pytest.raises(ValidationFailed):
            desk.assign(agent, ticket.id, colleague.id)
        desk.assign(agent, ticket.id, agent.id)
    assert queries.queue(agent, "mine")[0][0]["assignee"] == agent.full_name
    assert queries.queue(agent, "unassigned")[0] == []
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "ticket.assigned"))
    assert entry.changes == {"assignee_id": [None, agent.id]}


# ------------------------------------------------------------------------- merge and link


def test_merging_a_duplicate_closes_it_and_its_citizen_follows_the_other_ticket(app, jobs, smtp, agent):
    first_user = make_user(email="a@example.vn", phone=None, full_name="Nguyễn A")
    second_user = make_user(email="b@example.vn", phone=None, full_name="Nguyễn B")
    target = make_ticket(app, first_user)
    duplicate = make_ticket(app, second_user)
    with app.test_request_context("/"):
        desk.merge(agent, duplicate.id, target.number)
        desk.reply(agent, target.id, "Vụ việc đã được giải quyết cho cả hai phản ánh.")
        with pytest.raises(Conflict):
            desk.reply(agent, duplicate.id, "Trả lời ở vé đã gộp")
        with pytest.raises(ValidationFailed):
            desk.merge(agent, target.id, target.number)
        with pytest.raises(Conflict):
            desk.merge(agent, duplicate.id, target.number)
    db.session.expire_all()
    merged = db.session.get(Ticket, duplicate.id)
    assert merged.status == "closed" and merged.merged_into_id == target.id
    view = queries.public_view(merged)
    assert view["merged_into"] == target.number
    assert [m["body"] for m in view["messages"]] == ["Vụ việc đã được giải quyết cho cả hai phản ánh."]
    jobs()
    assert "Vụ việc đã được giải quyết" in smtp.body(smtp.to("b@example.vn")[-1])
    staff_view = queries.staff_view(agent, target.id)
    assert [m["number"] for m in staff_view["merged"]] == [duplicate.number]
    assert "ticket.merged" in audit_actions()


def test_a_merge_into_a_ticket_that_was_merged_itself_is_refused(app, jobs, agent):
    a, b, c = (make_ticket(app, make_user(email=f"{n}@example.vn", phone=None)) for n in "abc")
    with app.test_request_context("/"):
        desk.merge(agent, b.id, a.number)
        with pytest.raises(ValidationFailed):
            desk.merge(agent, c.id, b.number)
        with pytest.raises(ValidationFailed):
            desk.merge(agent, c.id, "PA-000000-00000")


def test_linking_two_tickets_shows_each_on_the_other_once(app, jobs, agent):
    a = make_ticket(app, make_user(email="a@example.vn", phone=None))
    b = make_ticket(app, make_user(email="b@example.vn", phone=None))
    with app.test_request_context("/"):
        desk.link(agent, a.id, b.number)
        desk.link(agent, b.id, a.number)  # the same link: nothing new
    assert [t["number"] for t in queries.staff_view(agent, a.id)["linked"]] == [b.number]
    assert [t["number"] for t in queries.staff_view(agent, b.id)["linked"]] == [a.number]
    assert audit_actions().count("ticket.linked") == 1


# ------------------------------------------------------------------------------ forward


def test_forwarding_to_the_competent_agency_puts_it_in_its_officers_scope(app, jobs, agent):
    ticket = make_ticket(app, agency=None)
    officer = make_staff("agency_officer", agencies=("000.00.00.H29",))
    with pytest.raises(NotFound):
        queries.ticket_for_staff(officer, ticket.id)
    with app.test_request_context("/"):
        with pytest.raises(ValidationFailed):
            desk.forward(agent, ticket.id, "999.99.99.Z99", None)
        desk.forward(agent, ticket.id, "000.00.00.H29", "Thuộc thẩm quyền của thành phố")
        with pytest.raises(Forbidden):
            desk.forward(officer, ticket.id, "000.00.00.H22", None)
    assert queries.ticket_for_staff(officer, ticket.id).id == ticket.id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "ticket.forwarded"))
    assert entry.changes["agency"] == "000.00.00.H29"


# -------------------------------------------------------------------------- phone calls


def test_a_phone_call_becomes_a_ticket_or_joins_one(app, client, jobs, agent):
    sign_in_staff(client, agent)
    response = submit_form(
        client,
        "/quan-tri/phan-anh/cuoc-goi",
        {
            "caller_name": "Ông Hùng",
            "caller_phone": "0987 654 321",
            "category": "portal",
            "summary": "Không đăng nhập được\nĐã hướng dẫn đặt lại mật khẩu",
            "duration_minutes": "4",
            "make_ticket": "y",
        },
    )
    assert response.status_code == 302
    ticket = db.session.scalar(sa.select(Ticket))
    assert ticket.channel == "phone" and ticket.status == "new" and ticket.title == "Không đăng nhập được"
    assert ticket.contact_phone == "0987654321" and ticket.due_at is not None
    response = submit_form(
        client,
        "/quan-tri/phan-anh/cuoc-goi",
        {
            "caller_name": "Ông Hùng",
            "category": "portal",
            "summary": "Gọi lại hỏi tiến độ",
            "duration_minutes": "2",
            "ticket_number": ticket.number,
        },
    )
    assert response.status_code == 302
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(PhoneCall).where(PhoneCall.ticket_id == ticket.id)
        )
        == 2
    )
    alone = submit_form(
        client,
        "/quan-tri/phan-anh/cuoc-goi",
        {
            "caller_name": "Bà Lan",
            "category": "regulation",
            "summary": "Hỏi về lệ phí",
            "duration_minutes": "1",
        },
    )
    assert alone.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 1
    bad = submit_form(
        client,
        "/quan-tri/phan-anh/cuoc-goi",
        {"caller_name": "", "category": "x", "summary": "", "duration_minutes": "9999"},
    )
    assert bad.status_code == 400
    assert audit_actions().count("call.logged") == 3
    history = queries.staff_view(agent, ticket.id)["events"]
    assert [e["action"] for e in history] == ["received", "call_attached"]


# ------------------------------------------------------------------- canned and searching


def test_agents_use_canned_responses_and_only_supervisors_write_them(app, jobs, agent):
    with app.test_request_context("/"):
        with pytest.raises(Forbidden):
            desk.save_canned(agent, None, unsafe_title="Mẫu", unsafe_body="Nội dung mẫu", category=None)
        supervisor = make_staff("supervisor")
        canned = desk.save_canned(
            supervisor, None, unsafe_title="Mẫu", unsafe_body="Nội dung mẫu", category=None
        )
        desk.save_canned(
            supervisor, canned.id, unsafe_title="Mẫu", unsafe_body="Nội dung mẫu", category=None, active=False
        )
    assert queries.canned_responses(agent) == []
    assert audit_actions()[-2:] == ["canned.created", "canned.updated"]


def test_the_desk_searches_by_number_text_and_citizen_ignoring_marks(app, jobs, agent):
    ticket = make_ticket(
        app,
        make_user(email="lan@example.vn", phone="0911222333", full_name="Đỗ Thị Lan"),
        title="Lệ phí cấp hộ chiếu",
    )
    make_ticket(app, make_user(email="x@example.vn", phone=None), title="Chậm trả kết quả")
    for query in (ticket.number, "le phi ho chieu", "LỆ PHÍ", "do thi lan", "lan@example.vn", "0911222333"):
        assert [t["number"] for t in queries.queue(agent, "all", unsafe_q=query)[0]] == [ticket.number], query
    assert queries.queue(agent, "all", unsafe_q="%")[0] == []
    assert queries.queue(agent, "all", unsafe_q="_")[0] == []


def test_guests_unconfirmed_tickets_stay_out_of_the_desk(app, client, agent):
    from portal.feedback import service

    with app.test_request_context("/"):
        app.config["JOBS_MODE"] = "inline"
        try:
            ticket, _ = service.submit(
                None,
                category="portal",
                unsafe_title="Khách chưa xác nhận",
                unsafe_content="Nội dung đủ dài để gửi.",
                unsafe_contact_name="Khách",
                unsafe_email="khach@example.vn",
                unsafe_phone=None,
            )
        finally:
            app.config["JOBS_MODE"] = "strict"
    assert queries.queue(agent, "all")[0] == []
    with pytest.raises(NotFound):
        queries.ticket_for_staff(agent, ticket.id)
