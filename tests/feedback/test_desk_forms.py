"""Every form of the desk answers bad input: the page comes back with 400 (or 409 for a move
the ticket cannot make), the error next to the field, a line at the top naming what was
wrong, what the agent typed still there, and nothing stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from markupsafe import escape

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.feedback import desk
from portal.feedback.models import (
    CannedResponse,
    PhoneCall,
    PublishedAnswer,
    Ticket,
    TicketLink,
    TicketMessage,
    TicketNote,
)
from tests.dossiers.support import make_user
from tests.staff.support import make_agencies, make_staff, sign_in_staff
from tests.staff.world import make_ticket
from tests.web import csrf_token

LONG_REPLY = "Kính gửi ông/bà, chúng tôi đã kiểm tra hồ sơ và xin trả lời như sau. " * 40
HOSTILE = '<script>alert("x")</script>'


def snapshot() -> dict:
    """Everything a desk form could store."""
    db.session.expire_all()
    tickets = db.session.execute(
        sa.select(
            Ticket.id, Ticket.status, Ticket.assignee_id, Ticket.agency_id, Ticket.merged_into_id
        ).order_by(Ticket.id)
    ).all()
    counts = {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (TicketMessage, TicketNote, TicketLink, PhoneCall, CannedResponse, PublishedAnswer)
    }
    return {"tickets": [tuple(t) for t in tickets], "counts": counts, "audit": _audit()}


def _audit() -> list[str]:
    return [a for a in db.session.scalars(sa.select(AuditEntry.action)) if not a.startswith("staff.")]


@pytest.fixture
def desk_world(app, jobs):
    make_agencies()
    supervisor = make_staff("supervisor")
    ticket, other, answered = (
        make_ticket(app, make_user(email=f"{name}@example.vn", phone=None), title=title)
        for name, title in (
            ("mot", "Chậm trả kết quả hồ sơ"),
            ("hai", "Một phản ánh khác"),
            ("ba", "Phản ánh đã được trả lời"),
        )
    )
    with app.test_request_context("/"):
        desk.assign(supervisor, ticket.id, supervisor.id)
        desk.reply(supervisor, answered.id, "Đã xử lý xong hồ sơ của ông/bà.")
        canned = desk.save_canned(
            supervisor, None, unsafe_title="Mẫu cảm ơn", unsafe_body="Cảm ơn ông/bà.", category=None
        )
    client = app.test_client()
    sign_in_staff(client, supervisor)
    token = csrf_token(client.get(f"/quan-tri/phan-anh/{ticket.id}").get_data(as_text=True))
    return {
        "client": client,
        "token": token,
        "ticket": ticket.id,
        "other_number": other.number,
        "own_number": ticket.number,
        "answered": answered.id,
        "canned": canned.id,
        "supervisor": supervisor,
    }


# (action path under the ticket, data, the field the error sits next to, expected status)
TICKET_CASES = {
    "reply empty": ("tra-loi", {"body": "", "then": "answered"}, "reply-body", 400),
    "reply oversized": ("tra-loi", {"body": "y" * 10_001, "then": "answered"}, "reply-body", 400),
    "reply control characters only": (
        "tra-loi",
        {"body": "\x00\x07\x1b", "then": "answered"},
        "reply-body",
        400,
    ),
    "reply with a forged next status": ("tra-loi", {"body": LONG_REPLY, "then": "deleted"}, "then", 400),
    "note empty": ("ghi-chu", {"body": "   "}, "note-body", 400),
    "note oversized": ("ghi-chu", {"body": "n" * 10_001}, "note-body", 400),
    "note one character": ("ghi-chu", {"body": "\x01x\x02"}, "note-body", 400),
    "assign an injected value": ("phan-cong", {"assignee": "1 OR 1=1"}, "assignee", 400),
    "assign someone who does not exist": ("phan-cong", {"assignee": "999999"}, "assignee", 400),
    "status empty": ("trang-thai", {"status": ""}, "status", 400),
    "status unknown": ("trang-thai", {"status": "archived"}, "status", 400),
    "status not a move from here": ("trang-thai", {"status": "new"}, "status", 409),  # it is open
    "merge empty": ("gop", {"merge-number": ""}, "merge-number", 400),
    "merge oversized": ("gop", {"merge-number": "P" * 25}, "merge-number", 400),
    "merge unknown number": ("gop", {"merge-number": "PA-000000-00000"}, "merge-number", 400),
    "merge hostile number": ("gop", {"merge-number": "' OR ''='"}, "merge-number", 400),
    "merge into itself": ("gop", {"merge-number": "{own}"}, "merge-number", 400),
    "link empty": ("lien-ket", {"link-number": ""}, "link-number", 400),
    "link unknown number": ("lien-ket", {"link-number": HOSTILE[:24]}, "link-number", 400),
    "link to itself": ("lien-ket", {"link-number": "{own}"}, "link-number", 400),
    "forward empty": ("chuyen", {"agency_code": "", "reason": ""}, "agency_code", 400),
    "forward oversized code": ("chuyen", {"agency_code": "0" * 33, "reason": ""}, "agency_code", 400),
    "forward unknown agency": ("chuyen", {"agency_code": "<b>999</b>", "reason": "x"}, "agency_code", 400),
    "forward oversized reason": (
        "chuyen",
        {"agency_code": "000.00.00.H29", "reason": "r" * 1001},
        "reason",
        400,
    ),
}


@pytest.mark.parametrize("case", list(TICKET_CASES))
def test_a_refused_desk_form_comes_back_with_its_error_and_stores_nothing(app, desk_world, case):
    action, data, field, expected = TICKET_CASES[case]
    data = {k: v.replace("{own}", desk_world["own_number"]) for k, v in data.items()}
    before = snapshot()
    response = desk_world["client"].post(
        f"/quan-tri/phan-anh/{desk_world['ticket']}/{action}",
        data={**data, "csrf_token": desk_world["token"]},
    )
    assert response.status_code == expected, case
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page, case
    assert 'id="action-error"' in page and "Chưa lưu gì." in page  # "Nothing was saved.", in Vietnamese
    assert snapshot() == before, case


def test_a_long_reply_refused_for_another_field_keeps_its_text_escaped_in_the_reply_box_only(app, desk_world):
    text = LONG_REPLY + HOSTILE
    response = desk_world["client"].post(
        f"/quan-tri/phan-anh/{desk_world['ticket']}/tra-loi",
        data={"body": text, "then": "deleted", "csrf_token": desk_world["token"]},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert HOSTILE not in page
    assert str(escape(HOSTILE)) in page
    assert page.count(str(escape(text.strip()))) == 1  # in the reply box, not in the note box


def test_a_reply_to_a_merged_ticket_is_refused_with_the_reason_at_the_top(app, desk_world):
    with app.test_request_context("/"):
        desk.merge(desk_world["supervisor"], desk_world["ticket"], desk_world["other_number"])
    before = snapshot()
    response = desk_world["client"].post(
        f"/quan-tri/phan-anh/{desk_world['ticket']}/tra-loi",
        data={"body": LONG_REPLY, "then": "answered", "csrf_token": desk_world["token"]},
    )
    assert response.status_code == 409
    assert 'id="action-error"' in response.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"question_title": "", "question": "", "answer": ""}, "question_title"),
        ({"question_title": "Hỏi", "question": "q" * 10_001, "answer": "Trả lời đủ dài"}, "question"),
        (
            {
                "question_title": "\x00\x01\x02\x03\x04\x05",
                "question": "Câu hỏi đủ dài.",
                "answer": "Trả lời đủ dài.",
            },
            "question_title",
        ),
        (
            {"question_title": "Tiêu đề đủ dài", "question": "Câu hỏi đủ dài.", "answer": "\x00" * 20},
            "answer",
        ),
    ],
)
def test_a_refused_publication_proposal_comes_back_with_its_error_and_stores_nothing(
    app, desk_world, data, field
):
    before = snapshot()
    response = desk_world["client"].post(
        f"/quan-tri/phan-anh/{desk_world['answered']}/cong-khai",
        data={**data, "csrf_token": desk_world["token"]},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and 'id="action-error"' in page
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"caller_name": "", "category": "portal", "summary": "Hỏi", "duration_minutes": "1"}, "caller_name"),
        (
            {"caller_name": "Ông A", "category": "hack", "summary": "Hỏi lệ phí", "duration_minutes": "1"},
            "category",
        ),
        (
            {"caller_name": "Ông A", "category": "portal", "summary": "s" * 10_001, "duration_minutes": "1"},
            "summary",
        ),
        (
            {"caller_name": "Ông A", "category": "portal", "summary": "Hỏi", "duration_minutes": "-5"},
            "duration_minutes",
        ),
        (
            {
                "caller_name": "Ông A",
                "caller_phone": HOSTILE[:20],
                "category": "portal",
                "summary": "Hỏi lệ phí",
            },
            "caller_phone",
        ),
        (
            {"caller_name": "Ông A", "category": "portal", "summary": "Hỏi lệ phí", "ticket_number": "PA-1"},
            "ticket_number",
        ),
        ({"caller_name": "\x00\x01", "category": "portal", "summary": "Hỏi lệ phí"}, "caller_name"),
    ],
)
def test_a_refused_call_log_comes_back_with_its_error_and_stores_nothing(app, desk_world, data, field):
    before = snapshot()
    response = desk_world["client"].post(
        "/quan-tri/phan-anh/cuoc-goi", data={**data, "csrf_token": desk_world["token"]}
    )
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/quan-tri/phan-anh/mau-tra-loi", {"title": "", "body": "", "category": ""}, "title"),
        (
            "/quan-tri/phan-anh/mau-tra-loi",
            {"title": "\x00\x01\x02", "body": "Nội dung", "category": ""},
            "title",
        ),
        ("/quan-tri/phan-anh/mau-tra-loi", {"title": "Mẫu", "body": "b" * 10_001, "category": ""}, "body"),
        ("/quan-tri/phan-anh/mau-tra-loi", {"title": "Mẫu", "body": "Nội dung", "category": "x"}, "category"),
        ("/quan-tri/phan-anh/mau-tra-loi/{canned}", {"title": "Mẫu", "body": "\x07", "active": "y"}, "body"),
    ],
)
def test_a_refused_canned_response_comes_back_with_its_error_and_stores_nothing(
    app, desk_world, path, data, field
):
    before = snapshot()
    response = desk_world["client"].post(
        path.format(canned=desk_world["canned"]), data={**data, "csrf_token": desk_world["token"]}
    )
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert snapshot() == before
    db.session.expire_all()
    assert db.session.get(CannedResponse, desk_world["canned"]).body == "Cảm ơn ông/bà."


def test_an_officer_posting_bad_forms_to_a_ticket_outside_their_agencies_still_gets_not_found(
    app, desk_world
):
    officer = make_staff("agency_officer", email="o@dichvucong.example.vn", agencies=("000.00.00.H29",))
    client = app.test_client()
    sign_in_staff(client, officer)
    token = csrf_token(client.get("/quan-tri/").get_data(as_text=True))
    for action in ("tra-loi", "ghi-chu", "phan-cong", "trang-thai"):
        response = client.post(
            f"/quan-tri/phan-anh/{desk_world['ticket']}/{action}", data={"csrf_token": token, "assignee": "x"}
        )
        assert response.status_code == 404, action


def test_every_element_of_the_ticket_page_has_an_id_of_its_own(app, desk_world):
    import re
    from collections import Counter

    page = desk_world["client"].get(f"/quan-tri/phan-anh/{desk_world['ticket']}").get_data(as_text=True)
    repeated = [name for name, count in Counter(re.findall(r'\sid="([^"]+)"', page)).items() if count > 1]
    assert repeated == []
    assert 'for="reply-body"' in page and 'for="note-body"' in page  # each label still finds its box
