"""Reads for feedback (never commit).

``public_view`` is the only shape a citizen ever gets of a ticket (page and e-mail): it is
built from the ticket's public fields and ``ticket_messages``; it cannot hold a note.
Staff reads are scoped to the staff member's agencies (portal.staff.scope).
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa

from portal.db import utcnow
from portal.errors import NotFound
from portal.extensions import db
from portal.feedback import sla
from portal.feedback.models import (
    CannedResponse,
    PhoneCall,
    PublishedAnswer,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketMessage,
    TicketNote,
    TicketSlaPause,
)
from portal.staff.models import StaffUser
from portal.staff.roles import require
from portal.staff.scope import in_scope, scoped
from services_catalog.models import Agency
from services_catalog.normalize import fold

PAGE_SIZE = 50
QUEUES = ("new", "mine", "unassigned", "overdue", "open", "waiting", "answered", "closed", "all")


def _iso(value) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _agency_name(agency_id: int | None) -> str | None:
    if agency_id is None:
        return None
    agency = db.session.get(Agency, agency_id)
    return agency.name if agency else None


# ----------------------------------------------------------------------------- citizens


def public_view(ticket: Ticket) -> dict:
    """What the citizen may see: public fields, their messages and staff's public replies
    (a merged ticket also shows the public replies given on the ticket it joined)."""
    ids = [ticket.id]
    merged_into = db.session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    messages = db.session.scalars(
        sa.select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket.id)
        .order_by(TicketMessage.created_at, TicketMessage.id)
    ).all()
    items = [{"author": m.author, "body": m.body, "created_at": _iso(m.created_at)} for m in messages]
    if merged_into is not None:
        ids.append(merged_into.id)
        replies = db.session.scalars(
            sa.select(TicketMessage)
            .where(TicketMessage.ticket_id == merged_into.id, TicketMessage.author == "staff")
            .order_by(TicketMessage.created_at, TicketMessage.id)
        ).all()
        items += [{"author": "staff", "body": m.body, "created_at": _iso(m.created_at)} for m in replies]
        items.sort(key=lambda m: m["created_at"] or "")
    return {
        "number": ticket.number,
        "category": ticket.category,
        "title": ticket.title,
        "content": ticket.content,
        "status": ticket.status,
        "contact_name": ticket.contact_name,
        "dossier_code": ticket.dossier_code,
        "procedure_code": ticket.procedure_code,
        "agency_name": _agency_name(ticket.agency_id),
        "attachment_name": ticket.attachment_name,
        "received_at": _iso(ticket.received_at),
        "due_at": _iso(ticket.due_at),
        "merged_into": merged_into.number if merged_into is not None else None,
        "messages": items,
    }


def citizen_tickets(user) -> list[dict]:
    rows = db.session.scalars(
        sa.select(Ticket)
        .where(Ticket.user_id == user.id, Ticket.status != "unconfirmed")
        .order_by(Ticket.created_at.desc())
        .limit(100)
    ).all()
    return [
        {"number": t.number, "title": t.title, "status": t.status, "received_at": _iso(t.received_at)}
        for t in rows
    ]


# -------------------------------------------------------------------------------- staff


def _summary(ticket: Ticket, now, names: dict[int, str]) -> dict:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "channel": ticket.channel,
        "category": ticket.category,
        "title": ticket.title,
        "status": ticket.status,
        "contact_name": ticket.contact_name,
        "assignee": names.get(ticket.assignee_id) if ticket.assignee_id else None,
        "agency_name": _agency_name(ticket.agency_id),
        "received_at": _iso(ticket.received_at),
        "due_at": _iso(ticket.due_at),
        "overdue": sla.is_overdue(ticket.status, ticket.due_at, now),
        "merged_into_id": ticket.merged_into_id,
    }


def _desk_query(staff):
    return scoped(sa.select(Ticket).where(Ticket.status != "unconfirmed"), Ticket.agency_id, staff)


def queue(
    staff,
    name: str = "new",
    *,
    category: str | None = None,
    agency_id: int | None = None,
    unsafe_q: str | None = None,
    page: int = 1,
) -> tuple[list[dict], bool]:
    """A queue of the desk, filtered; newest due first. Search by number, text or citizen
    (name, e-mail or phone). :raises Forbidden: not allowed to work tickets."""
    require(staff, "tickets.work")
    now = utcnow()
    query = _desk_query(staff)
    if name == "new":
        query = query.where(Ticket.status == "new")
    elif name == "mine":
        query = query.where(Ticket.assignee_id == staff.id, Ticket.status.in_(("new", "open", "waiting")))
    elif name == "unassigned":
        query = query.where(Ticket.assignee_id.is_(None), Ticket.status.in_(("new", "open", "waiting")))
    elif name == "overdue":
        query = query.where(Ticket.status.in_(("new", "open")), Ticket.due_at < now)
    elif name in ("open", "waiting", "answered", "closed"):
        query = query.where(Ticket.status == name)
    if category:
        query = query.where(Ticket.category == category)
    if agency_id:
        query = query.where(Ticket.agency_id == agency_id)
    q = (unsafe_q or "").strip()[:200]
    if q:
        folded = fold(q)
        conditions = [
            Ticket.number == q.upper(),
            Ticket.contact_email == q.lower(),
            Ticket.contact_phone == q,
        ]
        if folded:
            # Every word, in any order, marks ignored.
            words = [
                w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in folded.split()[:8]
            ]
            conditions.append(sa.and_(*(Ticket.search_norm.like(f"%{w}%", escape="\\") for w in words)))
        query = query.where(sa.or_(*conditions))
    page = max(1, min(page, 10_000))
    rows = db.session.scalars(
        query.order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    names = _staff_names({t.assignee_id for t in rows if t.assignee_id})
    return [_summary(t, now, names) for t in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def queue_counts(staff) -> dict[str, int]:
    require(staff, "tickets.work")
    now = utcnow()
    base = _desk_query(staff).with_only_columns(sa.func.count()).order_by(None)
    open_ = Ticket.status.in_(("new", "open", "waiting"))
    return {
        "new": db.session.scalar(base.where(Ticket.status == "new")),
        "mine": db.session.scalar(base.where(Ticket.assignee_id == staff.id, open_)),
        "unassigned": db.session.scalar(base.where(Ticket.assignee_id.is_(None), open_)),
        "overdue": db.session.scalar(base.where(Ticket.status.in_(("new", "open")), Ticket.due_at < now)),
    }


def _staff_names(ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(sa.select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(ids))).all()
    )


def ticket_for_staff(staff, ticket_id: int, *, lock: bool = False) -> Ticket:
    """The ticket if it is in the staff member's scope. :raises NotFound:"""
    require(staff, "tickets.work")
    query = sa.select(Ticket).where(Ticket.id == ticket_id)
    ticket = db.session.scalar(query.with_for_update() if lock else query)
    if ticket is None or ticket.status == "unconfirmed" or not in_scope(staff, ticket.agency_id):
        raise NotFound("no such ticket")
    return ticket


def staff_view(staff, ticket_id: int) -> dict:
    """Everything about a ticket for the desk: public messages, internal notes, history,
    linked and merged tickets, calls and publication."""
    ticket = ticket_for_staff(staff, ticket_id)
    now = utcnow()
    messages = db.session.scalars(
        sa.select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket.id)
        .order_by(TicketMessage.created_at, TicketMessage.id)
    ).all()
    notes = db.session.scalars(
        sa.select(TicketNote)
        .where(TicketNote.ticket_id == ticket.id)
        .order_by(TicketNote.created_at, TicketNote.id)
    ).all()
    events = db.session.scalars(
        sa.select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.at, TicketEvent.id)
    ).all()
    link_rows = (
        db.session.execute(
            sa.select(TicketLink).where(
                sa.or_(TicketLink.ticket_id == ticket.id, TicketLink.other_id == ticket.id)
            )
        )
        .scalars()
        .all()
    )
    linked_ids = {row.other_id if row.ticket_id == ticket.id else row.ticket_id for row in link_rows}
    merged_ids = set(db.session.scalars(sa.select(Ticket.id).where(Ticket.merged_into_id == ticket.id)))
    related = {
        t.id: t
        for t in db.session.scalars(
            sa.select(Ticket).where(Ticket.id.in_(linked_ids | merged_ids | {ticket.merged_into_id or 0}))
        )
    }
    names = _staff_names(
        {m.staff_id for m in messages if m.staff_id} | {n.staff_id for n in notes} | {ticket.assignee_id or 0}
    )
    calls = db.session.scalars(
        sa.select(PhoneCall).where(PhoneCall.ticket_id == ticket.id).order_by(PhoneCall.occurred_at)
    ).all()
    publication = db.session.scalar(sa.select(PublishedAnswer).where(PublishedAnswer.ticket_id == ticket.id))
    pauses = db.session.scalars(
        sa.select(TicketSlaPause).where(TicketSlaPause.ticket_id == ticket.id).order_by(TicketSlaPause.id)
    ).all()
    view = _summary(ticket, now, names)
    view.update(
        original_due_at=_iso(ticket.original_due_at),
        sla_paused=any(p.ended_at is None for p in pauses),
        sla_pauses=[
            {
                "started_at": _iso(p.started_at),
                "ended_at": _iso(p.ended_at),
                "working_days": (
                    p.working_days if p.ended_at is not None else sla.paused_working_days(p.started_at, now)
                ),
            }
            for p in pauses
        ],
        content=ticket.content,
        contact_email=ticket.contact_email,
        contact_phone=ticket.contact_phone,
        dossier_code=ticket.dossier_code,
        procedure_code=ticket.procedure_code,
        agency_id=ticket.agency_id,
        assignee_id=ticket.assignee_id,
        attachment_name=ticket.attachment_name,
        citizen_account=ticket.user_id is not None,
        messages=[
            {
                "author": m.author,
                "staff": names.get(m.staff_id),
                "body": m.body,
                "created_at": _iso(m.created_at),
            }
            for m in messages
        ],
        notes=[
            {"staff": names.get(n.staff_id), "body": n.body, "created_at": _iso(n.created_at)} for n in notes
        ],
        events=[{"at": _iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail} for e in events],
        linked=[
            {"id": i, "number": related[i].number, "title": related[i].title}
            for i in sorted(linked_ids)
            if i in related
        ],
        merged=[
            {"id": i, "number": related[i].number, "title": related[i].title}
            for i in sorted(merged_ids)
            if i in related
        ],
        merged_into=(
            {"id": ticket.merged_into_id, "number": related[ticket.merged_into_id].number}
            if ticket.merged_into_id in related
            else None
        ),
        calls=[
            {
                "caller_name": c.caller_name,
                "summary": c.summary,
                "occurred_at": _iso(c.occurred_at),
                "duration_minutes": c.duration_minutes,
            }
            for c in calls
        ],
        publication=(
            {"id": publication.id, "state": publication.state, "question_title": publication.question_title}
            if publication
            else None
        ),
    )
    return view


def canned_responses(staff, *, include_inactive: bool = False) -> list[dict]:
    require(staff, "canned.use")
    query = sa.select(CannedResponse).order_by(CannedResponse.title)
    if not include_inactive:
        query = query.where(CannedResponse.active.is_(True))
    return [
        {"id": c.id, "title": c.title, "body": c.body, "category": c.category, "active": c.active}
        for c in db.session.scalars(query)
    ]


def recent_calls(staff, limit: int = 50) -> list[dict]:
    require(staff, "calls.log")
    rows = db.session.execute(
        sa.select(PhoneCall, Ticket.number)
        .outerjoin(Ticket, Ticket.id == PhoneCall.ticket_id)
        .order_by(PhoneCall.occurred_at.desc(), PhoneCall.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": c.id,
            "caller_name": c.caller_name,
            "caller_phone": c.caller_phone,
            "category": c.category,
            "summary": c.summary,
            "occurred_at": _iso(c.occurred_at),
            "duration_minutes": c.duration_minutes,
            "ticket_id": c.ticket_id,
            "ticket_number": number,
        }
        for c, number in rows
    ]


def pending_publications(staff) -> list[dict]:
    require(staff, "publication.propose")
    rows = db.session.execute(
        sa.select(PublishedAnswer, Ticket.number)
        .join(Ticket, Ticket.id == PublishedAnswer.ticket_id)
        .where(PublishedAnswer.state == "pending")
        .order_by(PublishedAnswer.proposed_at)
    ).all()
    return [publication_dict(p, number) for p, number in rows]


def publication_dict(p: PublishedAnswer, number: str | None = None) -> dict:
    return {
        "id": p.id,
        "ticket_id": p.ticket_id,
        "ticket_number": number,
        "category": p.category,
        "question_title": p.question_title,
        "question": p.question,
        "answer": p.answer,
        "state": p.state,
        "proposed_at": _iso(p.proposed_at),
        "published_at": _iso(p.published_at),
        "review_note": p.review_note,
    }


def publication_for_staff(staff, publication_id: int) -> dict:
    require(staff, "publication.propose")
    row = db.session.execute(
        sa.select(PublishedAnswer, Ticket.number)
        .join(Ticket, Ticket.id == PublishedAnswer.ticket_id)
        .where(PublishedAnswer.id == publication_id)
    ).first()
    if row is None:
        raise NotFound("no such publication")
    return publication_dict(*row)


def published_answers(
    unsafe_q: str | None = None, category: str | None = None, page: int = 1
) -> tuple[list[dict], bool]:
    """The public Q&A: published answers whose text contains the query, marks ignored."""
    query = sa.select(PublishedAnswer).where(PublishedAnswer.state == "published")
    folded = fold((unsafe_q or "")[:200])
    if folded:
        for word in folded.split()[:8]:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(PublishedAnswer.search_norm.like(f"%{escaped}%", escape="\\"))
    if category:
        query = query.where(PublishedAnswer.category == category)
    page = max(1, min(page, 1000))
    rows = db.session.scalars(
        query.order_by(PublishedAnswer.published_at.desc(), PublishedAnswer.id.desc())
        .limit(21)
        .offset((page - 1) * 20)
    ).all()
    return [
        {
            "id": p.id,
            "category": p.category,
            "question_title": p.question_title,
            "question": p.question,
            "answer": p.answer,
            "published_at": _iso(p.published_at),
        }
        for p in rows[:20]
    ], len(rows) > 20
