"""Citizens' side of feedback: send a ticket (signed in, or as a guest who confirms by
e-mail), add information, close it. Each public function is one transaction.

What a citizen is ever sent or shown comes from ``ticket_messages`` and the ticket's
public fields; internal notes (``ticket_notes``) are never read here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import uploads
from portal.accounts.service import normalize_email, normalize_phone
from portal.audit.service import record
from portal.db import transactional, utcnow
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.extensions import db
from portal.feedback import sla
from portal.feedback.models import CATEGORIES, Ticket, TicketEvent, TicketMessage
from portal.mail import queue_mail
from portal.ratelimit import hit
from services_catalog.models import Agency
from services_catalog.normalize import fold

# Subjects are lazy: each e-mail is rendered in its recipient's language.
SUBJECT_RECEIVED = _l("Your feedback %(number)s is received")
SUBJECT_CONFIRM = _l("Confirm your feedback")
SUBJECT_REPLY = _l("Reply to your feedback %(number)s")
MAX_TITLE = 200
MAX_CONTENT = 10_000
MAX_MESSAGE = 5_000
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
_PHONE = re.compile(r"^0[2-9][0-9]{8,9}$")
_CODE = re.compile(r"^[0-9A-Za-z.\-]{1,64}$")


def secret_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _field(field: str, message: str) -> dict:
    return {"error": "ValidationError", "field": field, "message": message}


def _clean_text(unsafe: str | None) -> str:
    # No control characters but line breaks and tabs; NUL would break PostgreSQL.
    text = "".join(ch for ch in (unsafe or "") if ch in "\n\t" or ord(ch) >= 32)
    return text.replace("\r\n", "\n").strip()


def search_text(ticket: Ticket) -> str:
    return fold(" ".join(filter(None, [ticket.number, ticket.title, ticket.content, ticket.contact_name])))


def ticket_url(ticket: Ticket, access_key: str | None = None) -> str:
    base = f"{current_app.config['PUBLIC_URL']}/phan-anh-kien-nghi/{ticket.number}"
    return f"{base}?ma={access_key}" if access_key else base


def event(ticket: Ticket, actor: str, action: str, /, **detail) -> None:
    db.session.add(
        TicketEvent(ticket_id=ticket.id, at=utcnow(), actor=actor[:254], action=action, detail=detail)
    )


def mail_citizen(ticket: Ticket, template: str, subject: str, **context) -> None:
    """E-mail the ticket's contact, in their language, from public data only."""
    if not ticket.contact_email:
        return
    from portal.feedback.queries import public_view

    with force_locale(ticket.locale or "vi"):
        text = render_template(f"feedback/mail/{template}.txt", ticket=public_view(ticket), **context)
        queue_mail(ticket.contact_email, str(subject) % {"number": ticket.number or ""}, text)


def _receive(ticket: Ticket) -> None:
    """The ticket enters the desk's queue: received now, due by the category's SLA."""
    now = utcnow()
    ticket.status = "new"
    ticket.received_at = now
    ticket.due_at = ticket.original_due_at = sla.due_at(ticket.category, now)
    ticket.number = f"PA-{now.astimezone(sla_tz()).strftime('%y%m%d')}-{ticket.id:05d}"
    ticket.search_norm = search_text(ticket)


def sla_tz():
    from portal.workdays import VN_TZ

    return VN_TZ


def validate(
    *,
    category: str,
    title: str,
    content: str,
    contact_name: str,
    email: str | None,
    phone: str | None,
    dossier_code: str | None,
    procedure_code: str | None,
    email_required: bool,
) -> list[dict]:
    errors = []
    if category not in CATEGORIES:
        errors.append(_field("category", _("Choose what your feedback is about.")))
    if not 5 <= len(title) <= MAX_TITLE:
        errors.append(_field("title", _("Give a title of 5 to 200 characters.")))
    if not 10 <= len(content) <= MAX_CONTENT:
        errors.append(_field("content", _("Describe the matter in 10 to 10,000 characters.")))
    if not 2 <= len(contact_name) <= 100:
        errors.append(_field("contact_name", _("Enter your full name (2 to 100 characters).")))
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        errors.append(_field("contact_email", _("Enter a valid e-mail address.")))
    elif email is None and email_required:
        errors.append(
            _field("contact_email", _("Enter your e-mail address: we send you a link to confirm it."))
        )
    if phone is not None and not _PHONE.match(phone):
        errors.append(_field("contact_phone", _("Enter a Vietnamese phone number, e.g. 0912345678.")))
    for name, value in (("dossier_code", dossier_code), ("procedure_code", procedure_code)):
        if value is not None and not _CODE.match(value):
            errors.append(_field(name, _("This code is not valid.")))
    return errors


def _agency(unsafe_code: str | None) -> Agency | None:
    code = (unsafe_code or "").strip()
    if not code:
        return None
    agency = db.session.scalar(
        sa.select(Agency).where(sa.or_(Agency.code == code, Agency.portal_code == code))
    )
    if agency is None:
        raise ValidationFailed(
            _("Unknown agency code."), details=[_field("agency_code", _("Unknown agency code."))]
        )
    return agency


@transactional
def submit(
    user,
    *,
    category: str,
    unsafe_title: str,
    unsafe_content: str,
    unsafe_contact_name: str | None,
    unsafe_email: str | None,
    unsafe_phone: str | None,
    unsafe_dossier_code: str | None = None,
    unsafe_procedure_code: str | None = None,
    unsafe_agency_code: str | None = None,
    file=None,
    locale: str = "vi",
) -> tuple[Ticket, str | None]:
    """Send feedback. A signed-in citizen's ticket is received at once; a guest's waits for
    the e-mail confirmation (the link is e-mailed). Returns the ticket and, for a guest,
    nothing else: their secret page link goes out by e-mail only.

    :raises ValidationFailed: one entry per invalid field; a refused attachment.
    :raises RateLimited: too many tickets from this address or account.
    """
    title, content = _clean_text(unsafe_title), _clean_text(unsafe_content)
    email = normalize_email(unsafe_email) if user is None else (user.email or normalize_email(unsafe_email))
    phone = normalize_phone(unsafe_phone) if unsafe_phone else (getattr(user, "phone", None))
    contact_name = _clean_text(unsafe_contact_name) or (user.full_name if user is not None else "")
    dossier_code = (unsafe_dossier_code or "").strip() or None
    procedure_code = (unsafe_procedure_code or "").strip() or None
    errors = validate(
        category=category,
        title=title,
        content=content,
        contact_name=contact_name,
        email=email,
        phone=phone,
        dossier_code=dossier_code,
        procedure_code=procedure_code,
        email_required=user is None,
    )
    if errors:
        raise ValidationFailed(errors[0]["message"], details=errors)
    agency = _agency(unsafe_agency_code)
    limit = current_app.config["FEEDBACK_RATE_LIMIT"]
    hit(limit, "feedback-address", request.remote_addr or "-")
    if user is not None:
        hit(limit, "feedback-user", str(user.id))
    ticket = Ticket(
        channel="web",
        category=category,
        title=title,
        content=content,
        contact_name=contact_name,
        contact_email=email,
        contact_phone=phone,
        dossier_code=dossier_code,
        procedure_code=procedure_code,
        agency_id=agency.id if agency else None,
        user_id=user.id if user is not None else None,
        locale=locale if locale in ("vi", "en") else "vi",
        status="unconfirmed",
        created_at=utcnow(),
    )
    if file is not None and getattr(file, "filename", ""):
        staged = uploads.stage(file.stream, file.filename)
        ticket.attachment_stored = uploads.store(staged)
        ticket.attachment_name, ticket.attachment_type = staged.display_name, staged.content_type
    db.session.add(ticket)
    db.session.flush()
    if user is not None:
        _receive(ticket)
        event(ticket, contact_name, "received", channel="web")
        mail_citizen(ticket, "received", SUBJECT_RECEIVED, url=ticket_url(ticket))
        return ticket, None
    raw = secrets.token_urlsafe(24)
    ticket.confirm_hash = secret_hash(raw)
    ticket.search_norm = ""
    mail_citizen(
        ticket,
        "confirm",
        SUBJECT_CONFIRM,
        url=f"{current_app.config['PUBLIC_URL']}/phan-anh-kien-nghi/xac-nhan?ma={raw}",
    )
    return ticket, None


@transactional
def confirm_guest(unsafe_token: str) -> tuple[Ticket, str]:
    """A guest confirms their e-mail: the ticket is received, and its secret page link is
    e-mailed and returned. A used link is refused (the page link was sent already).

    :raises ValidationFailed: unknown or used link.
    """
    if not unsafe_token or len(unsafe_token) > 200:
        raise ValidationFailed(_("This link is not valid or has expired."), token="InvalidToken")
    ticket = db.session.scalar(
        sa.select(Ticket).where(Ticket.confirm_hash == secret_hash(unsafe_token)).with_for_update()
    )
    if ticket is None or ticket.status != "unconfirmed":
        raise ValidationFailed(_("This link is not valid or has expired."), token="InvalidToken")
    access = secrets.token_urlsafe(24)
    ticket.confirm_hash = None
    ticket.access_hash = secret_hash(access)
    _receive(ticket)
    event(ticket, ticket.contact_name, "received", channel="web", guest=True)
    mail_citizen(ticket, "received", SUBJECT_RECEIVED, url=ticket_url(ticket, access))
    return ticket, access


def citizen_ticket(number: str, user, unsafe_key: str | None, *, lock: bool = False) -> Ticket:
    """The ticket if this visitor may see it: its signed-in owner, or the holder of its
    secret link. Everyone else gets NotFound (the same as for a ticket that does not exist).

    :raises NotFound:
    """
    if not number or len(number) > 24:
        raise NotFound(_("No such feedback, or the link is not valid."))
    query = sa.select(Ticket).where(Ticket.number == number)
    ticket = db.session.scalar(query.with_for_update() if lock else query)
    if ticket is None or ticket.status == "unconfirmed":
        raise NotFound(_("No such feedback, or the link is not valid."))
    owner = user is not None and ticket.user_id is not None and ticket.user_id == user.id
    key_ok = bool(
        unsafe_key
        and ticket.access_hash
        and len(unsafe_key) <= 200
        and hmac.compare_digest(ticket.access_hash, secret_hash(unsafe_key))
    )
    if not (owner or key_ok):
        raise NotFound(_("No such feedback, or the link is not valid."))
    return ticket


@transactional
def add_information(number: str, user, unsafe_key: str | None, unsafe_body: str) -> None:
    """The citizen adds information. A ticket waiting for them, or answered, is open again.

    :raises NotFound: not theirs. :raises ValidationFailed: empty or too long.
    :raises Forbidden: the ticket is closed or merged.
    """
    ticket = citizen_ticket(number, user, unsafe_key, lock=True)
    body = _clean_text(unsafe_body)
    if not 2 <= len(body) <= MAX_MESSAGE:
        raise ValidationFailed(
            _("Write 2 to 5,000 characters."), details=[_field("body", _("Write 2 to 5,000 characters."))]
        )
    if ticket.status == "closed" or ticket.merged_into_id:
        raise Forbidden(_("This feedback is closed."), token="TicketClosed")
    db.session.add(TicketMessage(ticket_id=ticket.id, author="citizen", body=body, created_at=utcnow()))
    if ticket.status in ("waiting", "answered"):
        event(ticket, ticket.contact_name, "reopened" if ticket.status == "answered" else "status", to="open")
        sla.move_to(ticket, "open", utcnow())
    event(ticket, ticket.contact_name, "citizen_message")


@transactional
def close(number: str, user, unsafe_key: str | None) -> None:
    """The citizen closes their ticket (nothing more to do). Closing twice changes nothing.

    :raises NotFound: not theirs.
    """
    ticket = citizen_ticket(number, user, unsafe_key, lock=True)
    if ticket.status == "closed":
        return
    now = utcnow()
    sla.move_to(ticket, "closed", now)
    ticket.closed_at = now
    event(ticket, ticket.contact_name, "closed", by="citizen")
    record(user, "ticket.closed_by_citizen", ticket, {}, request)
