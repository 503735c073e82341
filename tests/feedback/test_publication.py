"""Publication: an answered ticket goes to the public Q&A only after a supervisor approves
an edited version, with personal data removed; the Q&A search ignores Vietnamese marks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEntry
from portal.errors import Conflict, Forbidden
from portal.extensions import db
from portal.feedback import desk, privacy
from portal.feedback.models import PublishedAnswer
from tests.dossiers.support import make_user
from tests.staff.support import make_agencies, make_staff, sign_in_staff
from tests.staff.world import make_ticket
from tests.web import submit_form

QUESTION = (
    "Tôi là Nguyễn Thị Hoà, CCCD 038190000001, điện thoại 0912 345 678, e-mail hoa.nguyen@example.vn. "
    "Hồ sơ 000.00.01.H22-261120-0001 của tôi đã quá hạn; ông Nguyen Thi Hoa (tôi) phải làm gì?"
)
ANSWER = "Chào bà Hoà, hồ sơ đã được xử lý. Bà gọi 0243 123 4567 hoặc nhắn hoa.nguyen@example.vn nếu cần."


@pytest.fixture
def answered(app, jobs):
    make_agencies()
    agent = make_staff("agent")
    supervisor = make_staff("supervisor")
    user = make_user(email="hoa.nguyen@example.vn", phone="0912345678", full_name="Nguyễn Thị Hoà")
    ticket = make_ticket(app, user, content=QUESTION)
    with app.test_request_context("/"):
        desk.reply(agent, ticket.id, ANSWER)
    return {"agent": agent, "supervisor": supervisor, "ticket": ticket}


def test_personal_data_is_found_and_stripped_with_or_without_marks():
    context = {
        "contact_name": "Nguyễn Thị Hoà",
        "contact_email": "hoa.nguyen@example.vn",
        "contact_phone": "0912345678",
        "number": "PA-261123-00001",
    }
    assert set(privacy.find_personal_data(QUESTION, context)) >= {
        "email",
        "phone",
        "id_number",
        "dossier_code",
        "contact",
    }
    clean = privacy.strip_personal_data(QUESTION + " PA-261123-00001", context)
    for leaked in ("Hoà", "Hoa", "038190000001", "0912 345 678", "hoa.nguyen", "H22-261120", "PA-261123"):
        assert leaked not in clean, leaked
    assert privacy.find_personal_data(clean, context) == []
    assert "quá hạn" in clean


def test_a_supervisor_approves_an_edited_stripped_version_and_it_becomes_searchable(app, client, answered):
    ticket = answered["ticket"]
    with app.test_request_context("/"):
        publication = desk.propose_publication(
            answered["agent"],
            ticket.id,
            unsafe_title="Hồ sơ quá hạn thì làm gì?",
            unsafe_question=QUESTION,
            unsafe_answer=ANSWER,
        )
    assert "038190000001" not in publication.question and "0243 123 4567" not in publication.answer
    # Pending: not public yet.
    assert "Hồ sơ quá hạn thì làm gì?" not in client.get("/hoi-dap").get_data(as_text=True)
    staff_client = app.test_client()
    sign_in_staff(staff_client, answered["supervisor"])
    edited_question = (
        publication.question + " Liên hệ Nguyễn Thị Hoà qua 0912345678."
    )  # the edit puts some back
    response = submit_form(
        staff_client,
        f"/quan-tri/phan-anh/cong-khai/{publication.id}",
        {
            "question_title": "Hồ sơ quá hạn thì làm gì?",
            "question": edited_question,
            "answer": publication.answer,
            "note": "",
            "decision": "approve",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    published = db.session.get(PublishedAnswer, publication.id)
    assert published.state == "published"
    text = published.question_title + published.question + published.answer
    for leaked in ("Hoà", "038190000001", "0912", "hoa.nguyen", "H22-261120", ticket.number):
        assert leaked not in text, leaked
    for query in ("ho so qua han", "HỒ SƠ QUÁ HẠN", "qua han ho so"):
        page = client.get("/hoi-dap", query_string={"q": query}).get_data(as_text=True)
        assert "Hồ sơ quá hạn thì làm gì?" in page, query
    assert "Hồ sơ quá hạn thì làm gì?" not in client.get("/hoi-dap?q=ho+chieu").get_data(as_text=True)
    actions = list(db.session.scalars(sa.select(AuditEntry.action)))
    assert "publication.proposed" in actions and "publication.approved" in actions


def test_agents_cannot_approve_and_unanswered_tickets_cannot_be_proposed(app, answered):
    agent = answered["agent"]
    with app.test_request_context("/"):
        publication = desk.propose_publication(
            agent,
            answered["ticket"].id,
            unsafe_title="Câu hỏi thử",
            unsafe_question="Câu hỏi đủ dài để đăng",
            unsafe_answer="Câu trả lời đủ dài để đăng",
        )
        with pytest.raises(Forbidden):
            desk.review_publication(
                agent,
                publication.id,
                approve=True,
                unsafe_title="Câu hỏi thử",
                unsafe_question="Câu hỏi đủ dài",
                unsafe_answer="Trả lời đủ dài ở đây",
            )
        fresh = make_ticket(app, make_user(email="moi@example.vn", phone=None))
        with pytest.raises(Conflict):
            desk.propose_publication(
                agent,
                fresh.id,
                unsafe_title="Câu hỏi thử",
                unsafe_question="Câu hỏi đủ dài",
                unsafe_answer="Trả lời đủ dài ở đây",
            )
        desk.review_publication(
            answered["supervisor"],
            publication.id,
            approve=False,
            unsafe_title="",
            unsafe_question="",
            unsafe_answer="",
            unsafe_note="Chưa phù hợp",
        )
        with pytest.raises(Conflict):
            desk.review_publication(
                answered["supervisor"],
                publication.id,
                approve=True,
                unsafe_title="Câu hỏi thử",
                unsafe_question="Câu hỏi đủ dài",
                unsafe_answer="Trả lời đủ dài ở đây",
            )
    assert db.session.get(PublishedAnswer, publication.id).state == "rejected"
    assert "publication.rejected" in list(db.session.scalars(sa.select(AuditEntry.action)))


def test_the_public_search_survives_hostile_queries(app, client):
    for query in ("%", "_", "'; DROP TABLE tickets; --", "x" * 5000, "<script>"):
        response = client.get("/hoi-dap", query_string={"q": query, "page": "-3", "linh_vuc": "nope"})
        assert response.status_code == 200
        assert (
            "<script>" not in response.get_data(as_text=True).split("</header>", 1)[1] or query != "<script>"
        )
