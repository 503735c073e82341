"""The SLA clock stands still while a ticket waits for the citizen: the due date moves by
the working days waited (Vietnamese calendar: weekends, public holidays, Tết, working
Saturdays, configured days off); the first due date is kept and each wait is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.feedback import desk, queries, service, sla
from portal.feedback.models import Ticket, TicketSlaPause
from tests.dossiers.support import make_user
from tests.staff.support import make_agencies, make_staff, sign_in_staff
from tests.staff.world import make_ticket

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(*parts) -> datetime:
    return datetime(*parts, tzinfo=VN)


# ------------------------------------------------------------------------ the computation


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (vn(2026, 10, 12, 9, 0), vn(2026, 10, 12, 16, 0), 0),  # within one day: nothing
        (vn(2026, 10, 12, 9, 0), vn(2026, 10, 15, 14, 0), 3),  # Monday to Thursday
        (vn(2026, 10, 9, 16, 0), vn(2026, 10, 12, 9, 0), 1),  # Friday to Monday: the weekend is free
        (vn(2026, 10, 10, 9, 0), vn(2026, 10, 11, 20, 0), 0),  # a weekend wait costs nothing
        (vn(2026, 8, 28, 10, 0), vn(2026, 9, 3, 10, 0), 1),  # 31 Aug (swapped), 1-2 Sep National Day
        (vn(2026, 8, 21, 10, 0), vn(2026, 8, 24, 10, 0), 2),  # Saturday 22 Aug 2026 is a working day
        (vn(2027, 2, 3, 10, 0), vn(2027, 2, 11, 10, 0), 1),  # over Tết 2027: only the 11th counts
        (vn(2026, 10, 12, 23, 30), vn(2026, 10, 13, 0, 30), 1),  # Vietnam days, not UTC days
    ],
)
def test_a_wait_costs_the_working_days_in_its_first_day_to_its_last_day(app, start, end, days):
    assert sla.paused_working_days(start.astimezone(UTC), end.astimezone(UTC)) == days


def test_a_configured_day_off_does_not_count_as_a_day_waited(app):
    app.config["WORKDAYS_EXTRA_DAYS_OFF"] = "2026-10-13"
    try:
        assert sla.paused_working_days(vn(2026, 10, 12, 9, 0), vn(2026, 10, 14, 9, 0)) == 1
    finally:
        app.config["WORKDAYS_EXTRA_DAYS_OFF"] = ""


@pytest.mark.parametrize(
    ("due", "days", "moved"),
    [
        (vn(2026, 10, 16, 17, 0), 0, vn(2026, 10, 16, 17, 0)),
        (vn(2026, 10, 16, 17, 0), 3, vn(2026, 10, 21, 17, 0)),  # over a weekend
        (vn(2026, 8, 28, 17, 0), 1, vn(2026, 9, 3, 17, 0)),  # over National Day 2026
        (vn(2027, 2, 3, 17, 0), 2, vn(2027, 2, 12, 17, 0)),  # over Tết 2027
    ],
)
def test_the_due_date_moves_by_working_days_to_the_end_of_a_working_day(app, due, days, moved):
    assert sla.extend_due(due.astimezone(UTC), days) == moved.astimezone(UTC)


# --------------------------------------------------------------------- through the desk


class Clock:
    """The time the feedback services and queries see."""

    def __init__(self, monkeypatch):
        self.now = None
        for module in (service, desk, queries):
            monkeypatch.setattr(module, "utcnow", lambda: self.now)

    def set(self, *parts) -> None:
        self.now = vn(*parts).astimezone(UTC)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def agent(app):
    make_agencies()
    return make_staff("agent")


def ticket_row(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def pauses(ticket_id: int) -> list[tuple]:
    db.session.expire_all()
    return [
        (sla._aware(p.started_at), sla._aware(p.ended_at), p.working_days)
        for p in db.session.scalars(
            sa.select(TicketSlaPause).where(TicketSlaPause.ticket_id == ticket_id).order_by(TicketSlaPause.id)
        )
    ]


def test_waiting_for_the_citizen_moves_the_due_date_and_keeps_the_first_one(app, jobs, clock, agent):
    citizen = make_user(email="cho@example.vn", phone=None)
    clock.set(2026, 10, 9, 10, 0)  # Friday; "dossier" is 5 working days
    ticket = make_ticket(app, citizen)
    first_due = vn(2026, 10, 16, 17, 0).astimezone(UTC)
    assert sla._aware(ticket_row(ticket.id).due_at) == first_due
    clock.set(2026, 10, 12, 9, 0)
    with app.test_request_context("/"):
        desk.reply(agent, ticket.id, "Xin ông/bà gửi thêm bản chụp giấy hẹn.", then="waiting")
    clock.set(2026, 10, 17, 9, 0)  # past the first due date, but the clock is paused
    assert queries.queue(agent, "overdue")[0] == [] and queries.queue_counts(agent)["overdue"] == 0
    view = queries.staff_view(agent, ticket.id)
    assert view["sla_paused"] is True and view["overdue"] is False
    clock.set(2026, 10, 15, 14, 0)  # the citizen answers on Thursday
    with app.test_request_context("/"):
        service.add_information(ticket.number, citizen, None, "Tôi gửi bổ sung giấy hẹn.")
    row = ticket_row(ticket.id)
    assert row.status == "open"
    assert sla._aware(row.due_at) == vn(2026, 10, 21, 17, 0).astimezone(UTC)
    assert sla._aware(row.original_due_at) == first_due
    assert pauses(ticket.id) == [
        (vn(2026, 10, 12, 9, 0).astimezone(UTC), vn(2026, 10, 15, 14, 0).astimezone(UTC), 3)
    ]
    clock.set(2026, 10, 21, 16, 0)
    assert queries.queue(agent, "overdue")[0] == []
    clock.set(2026, 10, 22, 9, 0)
    assert [t["number"] for t in queries.queue(agent, "overdue")[0]] == [ticket.number]
    # The citizen's page shows the moved due date.
    assert queries.public_view(row)["due_at"] == vn(2026, 10, 21, 17, 0).astimezone(UTC).isoformat()


def test_every_way_out_of_waiting_ends_the_pause_and_waits_add_up(app, jobs, clock, agent):
    citizen = make_user(email="ra@example.vn", phone=None)
    clock.set(2026, 10, 9, 10, 0)
    ticket = make_ticket(app, citizen, category="conduct")  # 10 working days: due 23 Oct
    with app.test_request_context("/"):
        clock.set(2026, 10, 12, 9, 0)
        desk.reply(agent, ticket.id, "Xin cho biết thêm thông tin.", then="waiting")
        clock.set(2026, 10, 13, 9, 0)
        desk.set_status(agent, ticket.id, "open")  # staff reopen it: 1 day
        clock.set(2026, 10, 13, 10, 0)
        desk.set_status(agent, ticket.id, "waiting")
        clock.set(2026, 10, 13, 11, 0)
        desk.reply(agent, ticket.id, "Chúng tôi đã có đủ thông tin, xin trả lời như sau.")  # same day: 0
        clock.set(2026, 10, 14, 9, 0)
        desk.set_status(agent, ticket.id, "open")
        desk.set_status(agent, ticket.id, "waiting")
    clock.set(2026, 10, 19, 9, 0)
    with app.test_request_context("/"):
        service.close(ticket.number, citizen, None)  # the citizen closes it: Thu to Mon is 3
    assert [p[2] for p in pauses(ticket.id)] == [1, 0, 3]
    row = ticket_row(ticket.id)
    assert row.status == "closed"
    assert sla._aware(row.original_due_at) == vn(2026, 10, 23, 17, 0).astimezone(UTC)
    assert sla._aware(row.due_at) == vn(2026, 10, 29, 17, 0).astimezone(UTC)  # 23 Oct + 4


def test_merging_a_waiting_ticket_ends_its_pause(app, jobs, clock, agent):
    clock.set(2026, 10, 9, 10, 0)
    target = make_ticket(app, make_user(email="dich@example.vn", phone=None))
    waiting = make_ticket(app, make_user(email="gop@example.vn", phone=None))
    with app.test_request_context("/"):
        clock.set(2026, 10, 12, 9, 0)
        desk.reply(agent, waiting.id, "Xin gửi thêm thông tin.", then="waiting")
        clock.set(2026, 10, 14, 9, 0)
        desk.merge(agent, waiting.id, target.number)
    assert [p[1:] for p in pauses(waiting.id)] == [(vn(2026, 10, 14, 9, 0).astimezone(UTC), 2)]
    assert sla.open_pause(ticket_row(waiting.id)) is None


def test_a_reply_that_keeps_waiting_does_not_restart_the_pause(app, jobs, clock, agent):
    clock.set(2026, 10, 9, 10, 0)
    ticket = make_ticket(app, make_user(email="hai@example.vn", phone=None))
    with app.test_request_context("/"):
        clock.set(2026, 10, 12, 9, 0)
        desk.reply(agent, ticket.id, "Xin gửi thêm thông tin.", then="waiting")
        clock.set(2026, 10, 13, 9, 0)
        desk.reply(agent, ticket.id, "Nhắc lại: xin gửi thêm thông tin.", then="waiting")
    assert pauses(ticket.id) == [(vn(2026, 10, 12, 9, 0).astimezone(UTC), None, None)]


def test_the_ticket_page_shows_the_pause_and_the_first_due_date(app, jobs, clock, agent):
    citizen = make_user(email="trang@example.vn", phone=None)
    clock.set(2026, 10, 9, 10, 0)
    ticket = make_ticket(app, citizen)
    with app.test_request_context("/"):
        clock.set(2026, 10, 12, 9, 0)
        desk.reply(agent, ticket.id, "Xin gửi thêm thông tin.", then="waiting")
    client = app.test_client()
    sign_in_staff(client, agent)
    page = client.get(f"/quan-tri/phan-anh/{ticket.id}").get_data(as_text=True)
    assert "12/10/2026 09:00" in page and 'id="ticket-due"' in page
    clock.set(2026, 10, 15, 14, 0)
    with app.test_request_context("/"):
        service.add_information(ticket.number, citizen, None, "Tôi gửi bổ sung.")
    page = client.get(f"/quan-tri/phan-anh/{ticket.id}").get_data(as_text=True)
    assert "21/10/2026 17:00" in page and "16/10/2026 17:00" in page and "15/10/2026 14:00" in page
