"""Dossier operations: drafts, files, filing, the citizen's actions, status changes, lookup.

Each public function taking a user is one transaction (``@transactional``) and finds the
dossier through :mod:`portal.dossiers.queries`, scoped to that user: another citizen's
dossier is NotFound, with the same message as one that does not exist.

Writes that depend on the dossier's current state first take its lock (:func:`_lock`), so
two requests at once (a double click, two tabs, a partner event) are applied one after
the other and the second sees what the first did.

``apply_status`` (status changes, shared with partner sync) lives in
:mod:`portal.dossiers.events` and ``public_lookup`` in :mod:`portal.dossiers.lookup`; both
are importable from here, as part of this service's API.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from portal import uploads
from portal.accounts.models import User
from portal.accounts.service import normalize_phone
from portal.db import transactional, utcnow
from portal.dossiers import queries
from portal.dossiers.events import apply_status, closed_error
from portal.dossiers.lookup import public_lookup  # noqa: F401 - part of this service's API
from portal.dossiers.models import (
    DELIVERED,
    FINAL_STATUSES,
    PROCESSING,
    SUBMITTED,
    SUPPLEMENT,
    WITHDRAWN,
    Attachment,
    Delivery,
    Dossier,
    DossierCounter,
    DossierEvent,
    Rating,
)
from portal.dossiers.queries import not_found
from portal.dossiers.statuses import (
    aware,
    calendar,
    vn_iso,
    vn_text,
)
from portal.dossiers.validation import clean_draft, clean_for_filing, field_error, form_errors
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.jobs import enqueue
from portal.mail import queue_mail
from portal.workdays import MAX_WORKING_DAYS, VN_TZ
from services_catalog.models import OnlineService, Procedure

log = logging.getLogger(__name__)

DEFAULT_MAX_DRAFTS = 20
MAX_ATTACHMENTS = 100
MAX_REASON = 1000
MAX_COMMENT = 2000
RATINGS = ("very_satisfied", "satisfied", "not_satisfied")
SUPPLEMENT_NOTE = "Công dân đã bổ sung hồ sơ trên Cổng"


# -------------------------------------------------------------------------------- helpers


def _lock(dossier_id: int) -> None:
    """Take the dossier's write lock for the rest of the transaction.

    An UPDATE locks the row on PostgreSQL and takes the database's write lock on SQLite
    (whose other writers then wait, for the busy timeout, instead of failing); reads after
    it see everything committed before.
    """
    db.session.execute(
        sa.update(Dossier)
        .where(Dossier.id == dossier_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _already_submitted() -> Conflict:
    return Conflict(_("This dossier has already been submitted."), token="AlreadySubmitted")


def _no_supplement() -> Conflict:
    return Conflict(_("No supplement has been requested for this dossier."), token="NoSupplementRequested")


def _owned_filed(user: User, dossier_id, *, lock: bool = False) -> Dossier:
    dossier = queries.find_owned(user, dossier_id)
    if dossier is None:
        raise not_found()
    if lock:
        _lock(dossier.id)
        dossier = queries.find_owned(user, dossier.id, refresh=True)
        db.session.expire(dossier, ["events", "pauses", "attachments"])
    return dossier


def _supplement_requested_at(dossier: Dossier) -> datetime | None:
    """When the open supplement request reached the portal (by our clock, not the partner's)."""
    return aware(
        db.session.scalar(
            sa.select(sa.func.max(DossierEvent.recorded_at)).where(
                DossierEvent.dossier_id == dossier.id,
                DossierEvent.status == SUPPLEMENT,
                DossierEvent.result == "applied",
            )
        )
    )


def _service_of(dossier: Dossier) -> OnlineService | None:
    return db.session.get(OnlineService, dossier.online_service_id) if dossier.online_service_id else None


def _offered(service: OnlineService | None) -> bool:
    return bool(
        service
        and service.active
        and service.level in (3, 4)
        and service.procedure.active
        and service.agency.is_active()
    )


# ---------------------------------------------------------------------------------- drafts


@transactional
def create_draft(user: User, online_service_id) -> int:
    """Start a draft for an online service (level 3 or 4) and return its id.

    The form starts with what the account knows: name, ID number, phone, e-mail.

    :raises NotFound: no such online service, or it (or its procedure, or its agency) is
        no longer offered.
    :raises Conflict: the citizen already has DOSSIER_MAX_DRAFTS drafts (``TooManyDrafts``).
    """
    service_id = queries.as_id(online_service_id)
    service = db.session.get(OnlineService, service_id) if service_id else None
    if not _offered(service):
        raise NotFound(_("This online service does not exist or is no longer offered."))
    if queries.count_drafts(user) >= int(current_app.config.get("DOSSIER_MAX_DRAFTS", DEFAULT_MAX_DRAFTS)):
        raise Conflict(
            _("You have too many unfinished dossiers. Submit or delete some first."), token="TooManyDrafts"
        )
    known = {
        "applicant_name": user.full_name,
        "applicant_id_number": user.id_number,
        "applicant_phone": user.phone,
        "applicant_email": user.email,
    }
    properties = (service.form_schema or {}).get("properties", {})
    draft = Dossier(
        state="draft",
        channel=2,
        user_id=user.id,
        online_service_id=service.id,
        procedure_id=service.procedure_id,
        procedure_code=service.procedure.code,
        agency_id=service.agency_id,
        agency_code=service.agency.key,
        form_data={key: value for key, value in known.items() if value and key in properties},
    )
    db.session.add(draft)
    db.session.flush()
    return draft.id


@transactional
def save_draft(user: User, dossier_id, unsafe_form_data) -> None:
    """Keep the answers as typed: only the form's fields, at most DOSSIER_DRAFT_MAX_BYTES.

    :raises NotFound: no such draft of this citizen (a submitted dossier is no draft).
    :raises ValidationFailed: not an object (``InvalidForm``), too large (``DraftTooLarge``).
    """
    draft = queries.find_owned_draft(user, dossier_id)
    if draft is None:
        raise not_found()
    service = _service_of(draft)
    kept = clean_draft(service.form_schema if service else {}, unsafe_form_data)
    # Conditional on still being a draft: a submission committed meanwhile is not changed.
    saved = db.session.execute(
        sa.update(Dossier)
        .where(Dossier.id == draft.id, Dossier.state == "draft")
        .values(form_data=kept, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if saved != 1:
        raise not_found()


@transactional
def discard_draft(user: User, dossier_id) -> None:
    """Delete a draft and its files (the files once the deletion has committed).

    :raises NotFound: no such draft of this citizen.
    """
    draft = queries.find_owned_draft(user, dossier_id)
    if draft is None:
        raise not_found()
    _lock(draft.id)
    draft = queries.find_owned_draft(user, draft.id, refresh=True)
    if draft is None:
        raise not_found()
    for attachment in draft.attachments:
        uploads.delete_after_commit(attachment.stored_name)
    db.session.delete(draft)


def filing_overview(user: User, online_service_id) -> dict:
    """What a citizen reads before starting a draft: the online service (as
    ``OnlineService.serialize``), its procedure's code, name, processing days, channels
    (time limits and fees) and documents, and the citizen's drafts of this service.

    :raises NotFound: as :func:`create_draft`: no such service, or no longer offered.
    """
    service_id = queries.as_id(online_service_id)
    service = db.session.get(OnlineService, service_id) if service_id else None
    if not _offered(service):
        raise NotFound(_("This online service does not exist or is no longer offered."))
    procedure = service.procedure
    return {
        **service.serialize(),
        "procedure_code": procedure.code,
        "procedure_name": procedure.name,
        "processing_days": procedure.processing_days,
        "channels": list(procedure.channels or []),
        "documents": list(procedure.documents or []),
        "drafts": [d for d in queries.list_drafts(user) if d["online_service_id"] == service.id],
    }


# ----------------------------------------------------------------------------------- files


def _attachable(user: User, dossier_id, kind: str) -> Dossier:
    if kind == "initial":
        draft = queries.find_owned_draft(user, dossier_id, refresh=True)
        if draft is not None:
            return draft
        if queries.find_owned(user, dossier_id) is not None:
            raise _already_submitted()
        raise not_found()
    dossier = queries.find_owned(user, dossier_id, refresh=True)
    if dossier is None:
        raise not_found()
    if dossier.status != SUPPLEMENT or queries.open_pause(dossier) is None:
        raise _no_supplement()
    return dossier


def _document_keys(dossier: Dossier) -> set[str]:
    procedure = db.session.get(Procedure, dossier.procedure_id) if dossier.procedure_id else None
    return {d["key"] for d in (procedure.documents if procedure else []) or [] if not d.get("note")}


def _add_attachment(user: User, dossier_id, document_key: str, file_storage, kind: str) -> dict:
    if kind not in ("initial", "supplement"):
        raise ValidationFailed("kind must be initial or supplement", token="ValidationError")
    dossier = _attachable(user, dossier_id, kind)
    if document_key not in _document_keys(dossier):
        raise ValidationFailed(_("This procedure does not ask for that document."), token="UnknownDocument")
    # The slow part (reading, hashing, inspecting) happens before the lock is taken.
    staged = uploads.stage(file_storage.stream, file_storage.filename)
    try:
        _lock(dossier.id)
        dossier = _attachable(user, dossier.id, kind)
        count, total = queries.attachments_bytes(dossier.id)
        if count >= MAX_ATTACHMENTS:
            raise ValidationFailed(
                _("A dossier can have at most %(num)d files.", num=MAX_ATTACHMENTS), token="TooManyFiles"
            )
        limit = uploads.max_dossier_bytes()
        if total + staged.size > limit:
            raise ValidationFailed(
                _(
                    "All the files of a dossier together may not exceed %(size)s MiB.",
                    size=uploads.mib(limit),
                ),
                token="DossierTooLarge",
            )
        stored_name = uploads.store(staged)
    except BaseException:
        uploads.discard(staged)
        raise
    attachment = Attachment(
        dossier_id=dossier.id,
        document_key=document_key,
        kind=kind,
        original_name=staged.display_name,
        stored_name=stored_name,
        content_type=staged.content_type,
        size=staged.size,
        sha256=staged.sha256,
        uploaded_at=utcnow(),
    )
    db.session.add(attachment)
    db.session.flush()
    return queries.serialize_attachment(attachment)


@transactional
def add_attachment(user: User, dossier_id, document_key: str, file_storage, kind: str = "initial") -> dict:
    """Attach a file to a document slot of a draft (``initial``), or of a dossier whose
    supplement was requested (``supplement``). Returns the attachment as a dict.

    :raises NotFound: no such dossier of this citizen.
    :raises Conflict: ``AlreadySubmitted`` (initial files of a filed dossier),
        ``NoSupplementRequested`` (supplement files while no supplement is requested).
    :raises ValidationFailed: ``UnknownDocument``, ``EmptyFile``, ``FileTooLarge``,
        ``DossierTooLarge``, ``TooManyFiles``, ``UnsupportedFileType``, ``UnsafeFile``,
        ``DamagedFile``.
    """
    return _add_attachment(user, dossier_id, document_key, file_storage, kind)


@transactional
def remove_attachment(user: User, attachment_id, *, dossier_id=None) -> None:
    """Remove a file of a draft, or a supplement file sent since the supplement was requested.

    With ``dossier_id`` the file must also belong to that dossier (routes that name both).

    :raises NotFound: no such file of this citizen (of this dossier).
    :raises Conflict: the file belongs to what was filed (``AttachmentLocked``).
    """
    attachment = queries.find_owned_attachment(user, attachment_id)
    if attachment is None or (dossier_id is not None and attachment.dossier_id != dossier_id):
        raise NotFound(_("This file does not exist or is not yours."))
    _lock(attachment.dossier_id)
    dossier = db.session.get(Dossier, attachment.dossier_id, populate_existing=True)
    pause = queries.open_pause(dossier) if dossier.state == "filed" else None
    requested = _supplement_requested_at(dossier) if pause is not None else None
    removable = (dossier.state == "draft" and attachment.kind == "initial") or (
        attachment.kind == "supplement"
        and dossier.status == SUPPLEMENT
        and requested is not None
        and aware(attachment.uploaded_at) >= requested
    )
    if not removable:
        raise Conflict(
            _("This file is part of a submitted dossier and cannot be removed."), token="AttachmentLocked"
        )
    uploads.delete_after_commit(attachment.stored_name)
    db.session.delete(attachment)


def open_attachment(viewer, attachment_id) -> tuple[Path, str, str]:
    """(path, download name, content type) of a file ``viewer`` may open.

    Citizens open the files of their own dossiers; staff access is added in
    :func:`portal.dossiers.queries.viewer_clause`.

    :raises NotFound: no such file, or not the viewer's (never Forbidden).
    """
    attachment = queries.find_attachment_for_viewer(viewer, attachment_id)
    if attachment is None:
        raise NotFound(_("This file does not exist or is not yours."))
    path = uploads.path_for(attachment.stored_name)
    if not path.is_file():
        log.error("an attachment's file is missing", extra={"attachment_id": attachment.id})
        raise NotFound(_("This file does not exist or is not yours."))
    return path, attachment.original_name, attachment.content_type


# ------------------------------------------------------------------------------- filing


def next_filing_seq() -> int:
    from portal.sync.feed import next_value

    return next_value("filing")


def mint_code(agency_code: str, received_at: datetime) -> str:
    """The next code ``<agency code>-YYMMDD-NNNN`` of an agency for the Vietnamese day of
    ``received_at`` (NNNN from 0001; five digits past 9999). Part of the caller's transaction:
    the counter row stays locked until it ends, so codes never collide."""
    day = aware(received_at).astimezone(VN_TZ).date()
    table = DossierCounter.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(
        insert(table).values(agency_code=agency_code, day=day, last_value=0).on_conflict_do_nothing()
    )
    value = db.session.execute(
        sa.update(table)
        .where(table.c.agency_code == agency_code, table.c.day == day)
        .values(last_value=table.c.last_value + 1)
        .returning(table.c.last_value)
    ).scalar_one()
    return f"{agency_code}-{day:%y%m%d}-{value:04d}"


def _short(text: str, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _filing_errors(service: OnlineService, procedure: Procedure, dossier: Dossier, data: dict) -> list[dict]:
    errors = form_errors(service.form_schema or {}, data)
    attached = {a.document_key for a in dossier.attachments}
    for document in procedure.documents or []:
        if document.get("required") and not document.get("note") and document["key"] not in attached:
            errors.append(
                field_error(
                    f"documents/{document['key']}",
                    _("%(document)s: attach this document.", document=_short(document["name"])),
                )
            )
    return errors


@transactional
def submit(user: User, dossier_id) -> dict:
    """File a draft: check it whole, mint its code, set its due date, queue its delivery to
    the agency's one-stop system and e-mail a receipt. Returns {"id", "code", "received_at",
    "due_at"} (Vietnam time).

    :raises NotFound: no such dossier of this citizen.
    :raises Conflict: already submitted (``AlreadySubmitted``: a double click or a replay
        files nothing twice), or the service is no longer offered (``ServiceUnavailable``).
    :raises ValidationFailed: one detail per invalid field (``field`` is its path in the
        form) and per missing required document (``documents/<key>``); the draft is unchanged.
    """
    draft = queries.find_owned_draft(user, dossier_id)
    if draft is None:
        if queries.find_owned(user, dossier_id) is not None:
            raise _already_submitted()
        raise not_found()
    now = utcnow()
    # Claim the draft with the transaction's first write: a second submission waits here for
    # the first to finish, then finds no draft. Anything raised below rolls the claim back.
    claimed = db.session.execute(
        sa.update(Dossier)
        .where(Dossier.id == draft.id, Dossier.state == "draft")
        .values(state="filed", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise _already_submitted()
    db.session.expire(draft)
    service = _service_of(draft)
    if not _offered(service):
        raise Conflict(_("This online service is no longer offered."), token="ServiceUnavailable")
    procedure, agency = service.procedure, service.agency
    data = clean_for_filing(dict(draft.form_data or {}))
    errors = _filing_errors(service, procedure, draft, data)
    if errors:
        raise ValidationFailed(
            _("Some information is missing or not valid. Check the fields marked below."), details=errors
        )

    days = procedure.processing_days
    due = calendar().due_at(now, days) if days is not None and 0 <= days <= MAX_WORKING_DAYS else None
    draft.state = "filed"
    draft.code = mint_code(agency.key, now)
    draft.form_data = data
    draft.channel = 2
    draft.summary = _short(procedure.name, 500)
    draft.received_at = now
    draft.processing_days = days
    draft.due_at = draft.original_due_at = due
    draft.applicant_name = str(data.get("applicant_name") or user.full_name)[:100]
    draft.applicant_id_number = (
        str(data["applicant_id_number"])[:20] if data.get("applicant_id_number") else None
    )
    draft.applicant_phone = (normalize_phone(str(data["applicant_phone"])) or "")[:16] or None
    draft.applicant_email = (
        str(data["applicant_email"]).lower()[:254] if data.get("applicant_email") else None
    )
    apply_status(draft, SUBMITTED, occurred_at=now, source="portal", notify=False)
    delivery_id = str(uuid.uuid4())
    from portal.payments.fees import freeze_fee_lines

    freeze_fee_lines(draft, procedure, service)
    db.session.add(
        Delivery(
            id=delivery_id,
            dossier_id=draft.id,
            agency_code=agency.key,
            state="pending",
            next_attempt_at=now,
        )
    )
    db.session.flush()
    enqueue("sync.deliver", delivery_id)
    with force_locale(user.locale or "vi"):
        text = render_template(
            "dossiers/mail/receipt.txt",
            name=user.full_name,
            code=draft.code,
            procedure_name=procedure.name,
            agency_name=agency.name,
            received=vn_text(now),
            due=vn_text(due) if due else None,
            url=current_app.config.get("PUBLIC_URL", ""),
        )
        queue_mail(user.email or draft.applicant_email, _("Dossier %(code)s received", code=draft.code), text)
    # Last, as it holds the filing sequence's lock until the commit (partner sync's pull feed).
    draft.filed_seq = next_filing_seq()
    db.session.flush()
    return {"id": draft.id, "code": draft.code, "received_at": vn_iso(now), "due_at": vn_iso(due)}


# ------------------------------------------------------------------------ citizen actions


def _citizen_time(dossier: Dossier) -> datetime:
    """Now, but never before the dossier's newest event: a citizen's action is never stale."""
    now, last = utcnow(), aware(dossier.last_event_at)
    return max(now, last) if last else now


@transactional
def request_withdrawal(user: User, dossier_id, reason: str) -> None:
    """Withdraw a dossier that is not closed yet (status 7, final).

    :raises NotFound: no such dossier of this citizen.
    :raises ValidationFailed: no reason, or one over 1000 characters (``field`` "reason").
    :raises Conflict: ``InvalidTransition``: the dossier is already closed.
    """
    dossier = _owned_filed(user, dossier_id, lock=True)
    # NUL never reaches the database (PostgreSQL refuses it in text): treat it as invalid.
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON or "\x00" in reason:
        message = _("Give a reason for withdrawing the dossier (at most %(num)d characters).", num=MAX_REASON)
        raise ValidationFailed(message, details=[field_error("reason", message)])
    if dossier.status in FINAL_STATUSES:
        raise closed_error()
    apply_status(dossier, WITHDRAWN, occurred_at=_citizen_time(dossier), source="citizen", note=reason)


@transactional
def supplement(user: User, dossier_id, files: list[tuple[str, object]]) -> list[dict]:
    """Attach the requested documents, as (document key, file) pairs, while status is 5.
    Send them with :func:`complete_supplement`. Returns the new attachments.

    :raises NotFound: no such dossier of this citizen.
    :raises Conflict: ``NoSupplementRequested``.
    :raises ValidationFailed: no file, or any refusal of :func:`add_attachment`.
    """
    if not files:
        raise ValidationFailed(_("Attach at least one file."), token="NoFile")
    return [_add_attachment(user, dossier_id, key, file_storage, "supplement") for key, file_storage in files]


@transactional
def complete_supplement(user: User, dossier_id) -> None:
    """Send the supplement: the pause ends, the dossier is processed again (status 4) and
    its due date moves by the working days it was paused (the first due date is kept).

    :raises NotFound: no such dossier of this citizen.
    :raises Conflict: ``NoSupplementRequested``.
    :raises ValidationFailed: ``NothingSupplemented``: no file was attached since the request.
    """
    dossier = _owned_filed(user, dossier_id, lock=True)
    pause = queries.open_pause(dossier)
    if dossier.status != SUPPLEMENT or pause is None:
        raise _no_supplement()
    requested = _supplement_requested_at(dossier)
    if requested is None or not any(
        a.kind == "supplement" and aware(a.uploaded_at) >= requested for a in dossier.attachments
    ):
        raise ValidationFailed(
            _("Attach the requested documents before sending the supplement."), token="NothingSupplemented"
        )
    apply_status(
        dossier, PROCESSING, occurred_at=_citizen_time(dossier), source="citizen", note=SUPPLEMENT_NOTE
    )


@transactional
def rate(user: User, dossier_id, value: str, comment: str | None = None) -> None:
    """Rate a dossier whose result was delivered (status 10); once per dossier.

    :raises NotFound: no such dossier of this citizen.
    :raises ValidationFailed: ``value`` not one of very_satisfied, satisfied,
        not_satisfied; a comment over 2000 characters.
    :raises Conflict: ``NotDelivered`` (no result delivered yet), ``AlreadyRated``.
    """
    dossier = _owned_filed(user, dossier_id)
    if value not in RATINGS:
        message = _("Choose how satisfied you are.")
        raise ValidationFailed(message, details=[field_error("value", message)])
    comment = (comment or "").strip() or None
    if comment and (len(comment) > MAX_COMMENT or "\x00" in comment):
        message = _("The comment can have at most %(num)d characters.", num=MAX_COMMENT)
        raise ValidationFailed(message, details=[field_error("comment", message)])
    if dossier.status != DELIVERED:
        raise Conflict(_("You can rate a dossier once its result has been delivered."), token="NotDelivered")
    already = _("You have already rated this dossier.")
    if db.session.scalar(sa.select(Rating.id).where(Rating.dossier_id == dossier.id)) is not None:
        raise Conflict(already, token="AlreadyRated")
    db.session.add(Rating(dossier_id=dossier.id, value=value, comment=comment, created_at=utcnow()))
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(already, token="AlreadyRated") from None


# ------------------------------------------------------------------------------ payments


def lock_dossier(dossier_id: int) -> None:
    """Take the dossier's write lock for the rest of the caller's transaction (payments
    start one payment at a time per dossier)."""
    _lock(dossier_id)


def record_payment(dossier_id: int, *, payment_id: int, amount: int, at: datetime) -> dict:
    """A succeeded fee payment, inside the payment's transaction: an event in the dossier's
    history (its status unchanged; once per payment: the pair source/external id is
    unique) and a new outbox delivery so the partner is told. Returns what a receipt
    needs: code, agency and procedure names, applicant name and e-mail, owner's id.
    """
    dossier = db.session.get(Dossier, dossier_id)
    note = f"Đã thanh toán phí, lệ phí trực tuyến: {amount:,} đồng".replace(",", ".")
    if dossier.status is not None:
        apply_status(
            dossier,
            dossier.status,
            occurred_at=at,
            source="payments",
            external_id=f"payment:{payment_id}",
            note=note,
            notify=False,
        )
    db.session.add(
        Delivery(
            id=str(uuid.uuid4()),
            dossier_id=dossier.id,
            agency_code=dossier.agency_code,
            state="pending",
            next_attempt_at=at,
        )
    )
    procedure_name, agency_name = queries.names_of(dossier)
    return {
        "code": dossier.code,
        "agency_code": dossier.agency_code,
        "agency_name": agency_name,
        "procedure_name": procedure_name,
        "applicant_name": dossier.applicant_name,
        "applicant_email": dossier.applicant_email,
        "user_id": dossier.user_id,
    }
