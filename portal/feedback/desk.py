"""The support desk's operations on tickets. Each is one transaction, checks the staff
member's role (portal.staff.roles) and agency scope first, writes the ticket's history
and an audit entry.

:raises Forbidden: the role may not do this. :raises NotFound: the ticket is not in the
staff member's scope (or does not exist). :raises ValidationFailed / Conflict: as named.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import gettext as _

from portal.audit.service import record
from portal.db import transactional, utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.feedback import privacy, sla
from portal.feedback.models import (
    CATEGORIES,
    CannedResponse,
    PhoneCall,
    PublishedAnswer,
    Ticket,
    TicketLink,
    TicketMessage,
    TicketNote,
)
from portal.feedback.queries import ticket_for_staff
from portal.feedback.service import _clean_text, event, mail_citizen, search_text, ticket_url
from portal.staff.models import StaffUser
from portal.staff.roles import require
from services_catalog.models import Agency
from services_catalog.normalize import fold

MAX_BODY = 10_000
# Moves staff may make by hand (replies set answered/waiting themselves).
TRANSITIONS = {
    "new": {"open", "closed"},
    "open": {"waiting", "answered", "closed"},
    "waiting": {"open", "closed"},
    "answered": {"open", "closed"},
    "closed": {"open"},
}


def _req():
    return request if has_request_context() else None


def _invalid(message: str, field: str) -> ValidationFailed:
    """A refusal that names the form field it is about (shown next to it)."""
    return ValidationFailed(
        message, details=[{"error": "ValidationError", "field": field, "message": message}]
    )


def _body(unsafe: str | None, field: str = "body") -> str:
    body = _clean_text(unsafe)
    if not 2 <= len(body) <= MAX_BODY:
        message = _("Write 2 to 10,000 characters.")
        raise ValidationFailed(
            message, details=[{"error": "ValidationError", "field": field, "message": message}]
        )
    return body


def _who(staff: StaffUser) -> str:
    return f"{staff.full_name} <{staff.email}>"


@transactional
def assign(staff: StaffUser, ticket_id: int, assignee_id: int | None) -> None:
    """Assign (or unassign with None). Agency officers may only take a ticket themselves."""
    ticket = ticket_for_staff(staff, ticket_id, lock=True)
    if assignee_id != staff.id:
        require(staff, "tickets.assign")
    if assignee_id is not None:
        assignee = db.session.get(StaffUser, assignee_id)
        if assignee is None or not assignee.is_active:
            raise _invalid(_("Choose an active staff member."), "assignee")
    before = ticket.assignee_id
    if before == assignee_id:
        return
    ticket.assignee_id = assignee_id
    if ticket.status == "new" and assignee_id is not None:
        sla.move_to(ticket, "open", utcnow())
    event(ticket, _who(staff), "assigned", to=assignee_id, previous=before)
    record(staff, "ticket.assigned", ticket, {"assignee_id": [before, assignee_id]}, _req())


@transactional
def set_status(staff: StaffUser, ticket_id: int, status: str) -> None:
    """Move a ticket along new → open → waiting → answered → closed, or reopen it."""
    ticket = ticket_for_staff(staff, ticket_id, lock=True)
    if status not in TRANSITIONS.get(ticket.status, set()):
        message = _("This ticket cannot move to that status.")
        raise Conflict(
            message,
            token="InvalidTransition",
            details=[{"error": "InvalidTransition", "field": "status", "message": message}],
        )
    before = ticket.status
    now = utcnow()
    sla.move_to(ticket, status, now)
    if status == "closed":
        ticket.closed_at = now
    if status == "answered" and ticket.answered_at is None:
        ticket.answered_at = now
    event(
        ticket,
        _who(staff),
        "reopened" if before in ("closed", "answered") and status == "open" else "status",
        to=status,
        previous=before,
    )
    record(staff, "ticket.status", ticket, {"status": [before, status]}, _req())


@transactional
def reply(staff: StaffUser, ticket_id: int, unsafe_body: str, *, then: str = "answered") -> None:
    """A public reply: shown on the citizen's page and e-mailed to them (and to the
    contacts of tickets merged into this one). ``then``: answered or waiting (for the citizen).
    """
    if then not in ("answered", "waiting"):
        raise _invalid(_("Choose what happens after the reply."), "then")
    ticket = ticket_for_staff(staff, ticket_id, lock=True)
    if ticket.merged_into_id:
        raise Conflict(_("This ticket was merged into another: reply there."), token="Merged")
    body = _body(unsafe_body)
    now = utcnow()
    db.session.add(
        TicketMessage(ticket_id=ticket.id, author="staff", staff_id=staff.id, body=body, created_at=now)
    )
    before = ticket.status
    sla.move_to(ticket, then, now)
    if then == "answered" and ticket.answered_at is None:
        ticket.answered_at = now
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id
    event(ticket, _who(staff), "public_reply", to=then, previous=before)
    record(staff, "ticket.replied", ticket, {"status": [before, then], "length": len(body)}, _req())
    for target in [ticket, *db.session.scalars(sa.select(Ticket).where(Ticket.merged_into_id == ticket.id))]:
        mail_citizen(
            target,
            "reply",
            "Reply to your feedback %(number)s",
            reply=body,
            url=ticket_url(target) if target.user_id else None,
        )


@transactional
def note(staff: StaffUser, ticket_id: int, unsafe_body: str) -> None:
    """An internal note: for staff only, never shown or sent to the citizen."""
    ticket = ticket_for_staff(staff, ticket_id)
    body = _body(unsafe_body)
    db.session.add(TicketNote(ticket_id=ticket.id, staff_id=staff.id, body=body, created_at=utcnow()))
    event(ticket, _who(staff), "internal_note")
    record(staff, "ticket.noted", ticket, {"length": len(body)}, _req())


def _by_number(staff: StaffUser, unsafe_number: str, field: str = "number") -> Ticket:
    """The ticket with this number in the staff member's scope; one answer for a number that
    does not exist and one outside the scope. :raises ValidationFailed: naming ``field``."""
    number = (unsafe_number or "").strip().upper()[:24]
    ticket_id = db.session.scalar(sa.select(Ticket.id).where(Ticket.number == number)) if number else None
    if ticket_id is None:
        raise _invalid(_("No ticket has this number."), field)
    try:
        return ticket_for_staff(staff, ticket_id, lock=True)
    except NotFound:
        raise _invalid(_("No ticket has this number."), field) from None


@transactional
def merge(staff: StaffUser, ticket_id: int, unsafe_target_number: str) -> None:
    """Merge a duplicate into another ticket: it closes, points to the other, and its
    citizen sees the other's public replies (and is e-mailed them)."""
    require(staff, "tickets.merge")
    source = ticket_for_staff(staff, ticket_id, lock=True)
    target = _by_number(staff, unsafe_target_number)
    if target.id == source.id or target.merged_into_id == source.id:
        raise _invalid(_("A ticket cannot be merged into itself."), "number")
    if source.merged_into_id:
        raise Conflict(_("This ticket is merged already."), token="Merged")
    if target.merged_into_id:
        raise _invalid(_("That ticket was itself merged: merge into the one it joined."), "number")
    # Tickets merged into the source follow it to the target.
    for child in db.session.scalars(sa.select(Ticket).where(Ticket.merged_into_id == source.id)):
        child.merged_into_id = target.id
    before = source.status
    source.merged_into_id = target.id
    now = utcnow()
    sla.move_to(source, "closed", now)
    source.closed_at = now
    event(source, _who(staff), "merged_into", ticket=target.number, previous=before)
    event(target, _who(staff), "merged_from", ticket=source.number)
    record(
        staff, "ticket.merged", source, {"merged_into": target.number, "status": [before, "closed"]}, _req()
    )


@transactional
def link(staff: StaffUser, ticket_id: int, unsafe_other_number: str) -> None:
    """Link two tickets about the same matter (both stay open). Linking twice is a no-op."""
    require(staff, "tickets.merge")
    ticket = ticket_for_staff(staff, ticket_id, lock=True)
    other = _by_number(staff, unsafe_other_number)
    if other.id == ticket.id:
        raise _invalid(_("A ticket cannot be linked to itself."), "number")
    low, high = sorted((ticket.id, other.id))
    if db.session.get(TicketLink, (low, high)) is not None:
        return
    db.session.add(TicketLink(ticket_id=low, other_id=high))
    event(ticket, _who(staff), "linked", ticket=other.number)
    event(other, _who(staff), "linked", ticket=ticket.number)
    record(staff, "ticket.linked", ticket, {"linked": other.number}, _req())


@transactional
def forward(staff: StaffUser, ticket_id: int, unsafe_agency_code: str, unsafe_reason: str | None) -> None:
    """Forward the ticket to the competent agency: its officers see it from now on."""
    require(staff, "tickets.forward")
    ticket = ticket_for_staff(staff, ticket_id, lock=True)
    code = (unsafe_agency_code or "").strip()[:32]
    agency = (
        db.session.scalar(sa.select(Agency).where(sa.or_(Agency.code == code, Agency.portal_code == code)))
        if code
        else None
    )
    if agency is None:
        raise _invalid(_("Unknown agency code."), "agency_code")
    before = ticket.agency_id
    ticket.agency_id = agency.id
    if ticket.status == "new":
        sla.move_to(ticket, "open", utcnow())
    reason = _clean_text(unsafe_reason)[:1000]
    event(ticket, _who(staff), "forwarded", agency=agency.key, agency_name=agency.name, reason=reason)
    record(
        staff, "ticket.forwarded", ticket, {"agency_id": [before, agency.id], "agency": agency.key}, _req()
    )


# ------------------------------------------------------------------------ phone calls


@transactional
def log_call(
    staff: StaffUser,
    *,
    unsafe_caller_name: str,
    unsafe_caller_phone: str | None,
    category: str,
    unsafe_summary: str,
    duration_minutes: int,
    make_ticket: bool = False,
    unsafe_ticket_number: str | None = None,
) -> PhoneCall:
    """Log a call; optionally turn it into a ticket (channel phone) or attach it to one."""
    require(staff, "calls.log")
    from portal.accounts.service import normalize_phone
    from portal.feedback.service import _receive

    name = _clean_text(unsafe_caller_name)[:100]
    summary = _body(unsafe_summary, "summary")
    phone = normalize_phone(unsafe_caller_phone) if unsafe_caller_phone else None
    if len(name) < 2:
        raise ValidationFailed(
            _("Enter the caller's name."),
            details=[
                {"error": "ValidationError", "field": "caller_name", "message": _("Enter the caller's name.")}
            ],
        )
    if category not in CATEGORIES:
        raise _invalid(_("Choose what your feedback is about."), "category")
    if phone is not None and (len(phone) > 16 or not phone.isdigit()):
        raise _invalid(_("Enter a Vietnamese phone number, e.g. 0912345678."), "caller_phone")
    if not 0 <= duration_minutes <= 600:
        raise _invalid(_("The duration is in minutes, 0 to 600."), "duration_minutes")
    call = PhoneCall(
        staff_id=staff.id,
        caller_name=name,
        caller_phone=phone,
        category=category,
        summary=summary,
        duration_minutes=duration_minutes,
        occurred_at=utcnow(),
    )
    db.session.add(call)
    ticket = None
    if unsafe_ticket_number:
        ticket = _by_number(staff, unsafe_ticket_number, "ticket_number")
        event(ticket, _who(staff), "call_attached")
    elif make_ticket:
        ticket = Ticket(
            channel="phone",
            category=category,
            title=summary.split("\n", 1)[0][:200],
            content=summary,
            contact_name=name,
            contact_phone=phone,
            status="new",
            created_at=utcnow(),
            assignee_id=staff.id,
        )
        db.session.add(ticket)
        db.session.flush()
        _receive(ticket)
        ticket.search_norm = search_text(ticket)
        event(ticket, _who(staff), "received", channel="phone")
    db.session.flush()
    if ticket is not None:
        call.ticket_id = ticket.id
    record(
        staff, "call.logged", ("phone_calls", call.id), {"ticket": ticket.number if ticket else None}, _req()
    )
    return call


# ---------------------------------------------------------------------- canned responses


@transactional
def save_canned(
    staff: StaffUser,
    canned_id: int | None,
    *,
    unsafe_title: str,
    unsafe_body: str,
    category: str | None,
    active: bool = True,
) -> CannedResponse:
    require(staff, "canned.manage")
    title = _clean_text(unsafe_title)[:120]
    if len(title) < 2:
        raise _invalid(_("Give a title of 2 to 120 characters."), "title")
    body = _body(unsafe_body)
    if category and category not in CATEGORIES:
        raise _invalid(_("Choose what your feedback is about."), "category")
    if canned_id is None:
        canned = CannedResponse(title=title, body=body, category=category or None, active=active)
        db.session.add(canned)
        db.session.flush()
        record(staff, "canned.created", canned, {"title": title}, _req())
        return canned
    canned = db.session.get(CannedResponse, canned_id)
    if canned is None:
        raise NotFound("no such canned response")
    changes = {
        k: [getattr(canned, k), v]
        for k, v in (("title", title), ("body", body), ("category", category or None), ("active", active))
        if getattr(canned, k) != v
    }
    canned.title, canned.body, canned.category, canned.active = title, body, category or None, active
    record(staff, "canned.updated", canned, changes, _req())
    return canned


# ---------------------------------------------------------------------------- publication


def _privacy_context(ticket: Ticket) -> dict:
    from portal.accounts.models import User

    user = db.session.get(User, ticket.user_id) if ticket.user_id else None
    return {
        "contact_name": ticket.contact_name,
        "user_name": user.full_name if user else None,
        "contact_email": ticket.contact_email,
        "contact_phone": ticket.contact_phone,
        "number": ticket.number,
    }


def _clean_for_publication(ticket: Ticket, title: str, question: str, answer: str) -> tuple[str, str, str]:
    context = _privacy_context(ticket)
    title = privacy.strip_personal_data(_clean_text(title), context)[:200]
    question = privacy.strip_personal_data(_clean_text(question), context)
    answer = privacy.strip_personal_data(_clean_text(answer), context)
    errors = [
        {"error": "ValidationError", "field": field, "message": message}
        for field, ok, message in (
            ("question_title", len(title) >= 5, _("Give a title of 5 to 200 characters.")),
            ("question", len(question) >= 10, _("Write the question in at least 10 characters.")),
            ("answer", len(answer) >= 10, _("Write the answer in at least 10 characters.")),
        )
        if not ok
    ]
    if errors:
        raise ValidationFailed(_("Give a title, the question and the answer."), details=errors)
    return title, question, answer


@transactional
def propose_publication(
    staff: StaffUser, ticket_id: int, *, unsafe_title: str, unsafe_question: str, unsafe_answer: str
) -> PublishedAnswer:
    """Propose an edited question and answer of an answered ticket for the public Q&A.
    Personal data is removed before it is stored; a supervisor must approve it."""
    require(staff, "publication.propose")
    ticket = ticket_for_staff(staff, ticket_id, lock=True)
    if ticket.status not in ("answered", "closed") or ticket.answered_at is None:
        raise Conflict(_("Only an answered ticket can be published."), token="NotAnswered")
    title, question, answer = _clean_for_publication(ticket, unsafe_title, unsafe_question, unsafe_answer)
    publication = db.session.scalar(sa.select(PublishedAnswer).where(PublishedAnswer.ticket_id == ticket.id))
    if publication is not None and publication.state == "published":
        raise Conflict(_("This ticket is published already."), token="Published")
    if publication is None:
        publication = PublishedAnswer(ticket_id=ticket.id, proposed_by_id=staff.id, category=ticket.category)
        db.session.add(publication)
    publication.question_title, publication.question, publication.answer = title, question, answer
    publication.state, publication.proposed_by_id, publication.proposed_at = "pending", staff.id, utcnow()
    publication.review_note = None
    db.session.flush()
    event(ticket, _who(staff), "publication_proposed")
    record(staff, "publication.proposed", publication, {"ticket": ticket.number}, _req())
    return publication


@transactional
def review_publication(
    staff: StaffUser,
    publication_id: int,
    *,
    approve: bool,
    unsafe_title: str,
    unsafe_question: str,
    unsafe_answer: str,
    unsafe_note: str | None = None,
) -> None:
    """A supervisor approves (possibly after editing) or rejects a proposed publication.
    The approved text is stripped of personal data again, whatever the edit put back."""
    require(staff, "publication.approve")
    publication = db.session.get(PublishedAnswer, publication_id, with_for_update=True)
    if publication is None:
        raise NotFound("no such publication")
    if publication.state != "pending":
        raise Conflict(_("This publication was reviewed already."), token="Reviewed")
    ticket = db.session.get(Ticket, publication.ticket_id)
    publication.reviewed_by_id = staff.id
    publication.review_note = _clean_text(unsafe_note)[:500] or None
    if not approve:
        publication.state = "rejected"
        record(staff, "publication.rejected", publication, {"ticket": ticket.number}, _req())
        return
    title, question, answer = _clean_for_publication(ticket, unsafe_title, unsafe_question, unsafe_answer)
    changes = {
        k: "edited"
        for k, new in (("question_title", title), ("question", question), ("answer", answer))
        if getattr(publication, k) != new
    }
    publication.question_title, publication.question, publication.answer = title, question, answer
    publication.search_norm = fold(f"{title} {question} {answer}")
    publication.state, publication.published_at = "published", utcnow()
    event(ticket, _who(staff), "published")
    record(staff, "publication.approved", publication, {"ticket": ticket.number, **changes}, _req())


@transactional
def withdraw_publication(staff: StaffUser, publication_id: int) -> None:
    require(staff, "publication.approve")
    publication = db.session.get(PublishedAnswer, publication_id, with_for_update=True)
    if publication is None:
        raise NotFound("no such publication")
    if publication.state != "published":
        raise Conflict(_("This answer is not published."), token="NotPublished")
    publication.state = "rejected"
    record(staff, "publication.withdrawn", publication, {}, _req())
