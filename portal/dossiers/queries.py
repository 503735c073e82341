"""Reads of dossiers, always scoped to who asks; plain dicts for pages and APIs.

A citizen sees the dossiers they filed, and the dossiers no account filed whose applicant ID
number is their *verified* ID number (a partner reports dossiers filed at a counter with the
applicant's number). Anything else answers NotFound, never Forbidden: a stranger cannot tell that a
dossier exists.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.db import utcnow
from portal.dossiers.models import (
    DELIVERED,
    FINAL_STATUSES,
    READY,
    REFUSED,
    SUPPLEMENT,
    Attachment,
    Dossier,
    DossierPause,
    Rating,
)
from portal.dossiers.statuses import aware, paused_working_days, status_name, timeliness, vn_iso
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from services_catalog.models import Agency, OnlineService, Procedure

MAX_PER_PAGE = 100
MAX_CODE_QUERY = 64


def as_id(unsafe_id) -> int | None:
    """An id from a URL or a form, or None when it cannot be one."""
    try:
        value = int(unsafe_id)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def not_found() -> NotFound:
    from flask_babel import gettext as _

    return NotFound(_("This dossier does not exist or is not yours."))


# ------------------------------------------------------------------------------- scopes


def verified_id_number(user: User) -> str | None:
    """The user's ID number when the national identity provider vouched for it.

    An account linked to the national ID either was made from its claims or was linked
    because the claimed number equals the account's: then the number is verified. A
    number typed at registration alone is not.
    """
    if user.id_number and user.identities:
        return user.id_number
    return None


def owner_clause(user: User):
    """SQL condition: filed dossiers this citizen may see."""
    clauses = [Dossier.user_id == user.id]
    id_number = verified_id_number(user)
    if id_number:
        # Only dossiers no account filed (reported by partners): what another account filed
        # naming this person stays that account's, with its files and contact details.
        clauses.append(sa.and_(Dossier.user_id.is_(None), Dossier.applicant_id_number == id_number))
    return sa.and_(Dossier.state == "filed", sa.or_(*clauses))


def citizen_clause(user: User):
    """SQL condition: the citizen's drafts and the filed dossiers they may see."""
    return sa.or_(owner_clause(user), sa.and_(Dossier.state == "draft", Dossier.user_id == user.id))


def viewer_clause(viewer):
    """SQL condition: dossiers whose files ``viewer`` may open.

    Citizens: :func:`citizen_clause`. Staff access comes with the back office: add its
    branch here, scoped to the officer's agencies (``Dossier.agency_code``), never wider.
    """
    return citizen_clause(viewer)


def find_owned(user: User, unsafe_id, *, refresh: bool = False) -> Dossier | None:
    """A filed dossier the citizen may see; ``refresh`` re-reads it (after taking its lock)."""
    dossier_id = as_id(unsafe_id)
    if dossier_id is None:
        return None
    query = sa.select(Dossier).where(Dossier.id == dossier_id, owner_clause(user))
    return db.session.scalar(query.execution_options(populate_existing=refresh))


def find_owned_draft(user: User, unsafe_id, *, refresh: bool = False) -> Dossier | None:
    dossier_id = as_id(unsafe_id)
    if dossier_id is None:
        return None
    query = sa.select(Dossier).where(
        Dossier.id == dossier_id, Dossier.user_id == user.id, Dossier.state == "draft"
    )
    return db.session.scalar(query.execution_options(populate_existing=refresh))


def _attachment_where(unsafe_id, clause) -> Attachment | None:
    attachment_id = as_id(unsafe_id)
    if attachment_id is None:
        return None
    return db.session.scalar(
        sa.select(Attachment)
        .join(Dossier, Attachment.dossier_id == Dossier.id)
        .where(Attachment.id == attachment_id, clause)
    )


def find_owned_attachment(user: User, unsafe_id) -> Attachment | None:
    """A file of the citizen's draft or of a dossier the citizen may see."""
    return _attachment_where(unsafe_id, citizen_clause(user))


def find_attachment_for_viewer(viewer, unsafe_id) -> Attachment | None:
    """A file ``viewer`` may open (see :func:`viewer_clause`)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return None
    return _attachment_where(unsafe_id, viewer_clause(viewer))


def open_pause(dossier: Dossier) -> DossierPause | None:
    """The dossier's pause that has not ended, if any."""
    return db.session.scalar(
        sa.select(DossierPause)
        .where(DossierPause.dossier_id == dossier.id, DossierPause.ended_at.is_(None))
        .order_by(DossierPause.started_at.desc())
        .limit(1)
    )


def count_drafts(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Dossier)
        .where(Dossier.user_id == user.id, Dossier.state == "draft")
    )


def attachments_bytes(dossier_id: int) -> tuple[int, int]:
    """(number, total bytes) of a dossier's files."""
    count, total = db.session.execute(
        sa.select(sa.func.count(Attachment.id), sa.func.coalesce(sa.func.sum(Attachment.size), 0)).where(
            Attachment.dossier_id == dossier_id
        )
    ).one()
    return int(count), int(total)


# ------------------------------------------------------------------------- serializing


def _names(dossier: Dossier) -> tuple[str, str]:
    procedure = db.session.get(Procedure, dossier.procedure_id) if dossier.procedure_id else None
    agency = db.session.get(Agency, dossier.agency_id) if dossier.agency_id else None
    return (
        procedure.name if procedure else dossier.procedure_code,
        agency.name if agency else dossier.agency_code,
    )


def names_of(dossier: Dossier) -> tuple[str, str]:
    """(procedure name, agency name) of a dossier, its codes when the catalog lost them."""
    return _names(dossier)


def serialize_attachment(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "document_key": attachment.document_key,
        "kind": attachment.kind,
        "name": attachment.original_name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "sha256": attachment.sha256,
        "uploaded_at": vn_iso(attachment.uploaded_at),
    }


def serialize_summary(dossier: Dossier, *, now: datetime | None = None) -> dict:
    procedure_name, agency_name = _names(dossier)
    return {
        "id": dossier.id,
        "code": dossier.code,
        "status": dossier.status,
        "status_name": status_name(dossier.status),
        "procedure_code": dossier.procedure_code,
        "procedure_name": procedure_name,
        "agency_code": dossier.agency_code,
        "agency_name": agency_name,
        "channel": dossier.channel,
        "summary": dossier.summary,
        "received_at": vn_iso(dossier.received_at),
        "due_at": vn_iso(dossier.due_at),
        "original_due_at": vn_iso(dossier.original_due_at),
        "finished_at": vn_iso(dossier.finished_at),
        "timeliness": timeliness(dossier, now or utcnow()),
    }


def _documents(dossier: Dossier) -> list[dict]:
    procedure = db.session.get(Procedure, dossier.procedure_id) if dossier.procedure_id else None
    by_key: dict[str, list[dict]] = {}
    for attachment in dossier.attachments:
        by_key.setdefault(attachment.document_key, []).append(serialize_attachment(attachment))
    documents = []
    for document in (procedure.documents if procedure else []) or []:
        documents.append(
            {
                "key": document["key"],
                "name": document["name"],
                "case": document.get("case") or "",
                "required": bool(document.get("required")) and not document.get("note"),
                "note": bool(document.get("note")),
                "attachments": by_key.pop(document["key"], []),
            }
        )
    for key, attachments in by_key.items():  # papers the catalog no longer lists
        documents.append(
            {
                "key": key,
                "name": key,
                "case": "",
                "required": False,
                "note": False,
                "attachments": attachments,
            }
        )
    return documents


def serialize_detail(dossier: Dossier, *, now: datetime | None = None) -> dict:
    now = now or utcnow()
    data = serialize_summary(dossier, now=now)
    rating = db.session.scalar(sa.select(Rating).where(Rating.dossier_id == dossier.id))
    open_pause = next((p for p in dossier.pauses if p.ended_at is None), None)
    data.update(
        {
            "processing_days": dossier.processing_days,
            "form_data": dict(dossier.form_data or {}),
            "applicant": {
                "name": dossier.applicant_name,
                "id_number": dossier.applicant_id_number,
                "phone": dossier.applicant_phone,
                "email": dossier.applicant_email,
            },
            "events": [
                {
                    "status": event.status,
                    "status_name": status_name(event.status),
                    "occurred_at": vn_iso(event.occurred_at),
                    "note": event.note,
                    "handler_unit": event.handler_unit,
                    "result": event.result,
                    "due_at": vn_iso(event.due_at),
                }
                for event in sorted(dossier.events, key=lambda e: (aware(e.occurred_at), e.id))
            ],
            "pauses": [
                {
                    "status": pause.status,
                    "status_name": status_name(pause.status),
                    "started_at": vn_iso(pause.started_at),
                    "ended_at": vn_iso(pause.ended_at),
                    "working_days": paused_working_days(pause.started_at, pause.ended_at or now),
                }
                for pause in dossier.pauses
            ],
            "documents": _documents(dossier),
            "rating": {
                "value": rating.value,
                "comment": rating.comment,
                "created_at": vn_iso(rating.created_at),
            }
            if rating
            else None,
            "can_withdraw": dossier.status not in FINAL_STATUSES,
            "can_supplement": dossier.status == SUPPLEMENT and open_pause is not None,
            "supplement_requested_at": vn_iso(open_pause.started_at)
            if open_pause is not None and open_pause.status == SUPPLEMENT
            else None,
            "can_rate": dossier.status == DELIVERED and rating is None,
        }
    )
    return data


# ------------------------------------------------------------------------------ reads


def list_dossiers(
    user: User,
    status: int | None = None,
    unsafe_code_query: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> dict:
    """The citizen's filed dossiers, newest first: {"items", "total", "page", "per_page"}.

    :raises ValidationFailed: a status outside 1-10, or a bad page or page size.
    """
    if status is not None and status not in range(1, 11):
        raise ValidationFailed("status must be a national status code 1-10", token="ValidationError")
    if not (
        isinstance(page, int) and page >= 1 and isinstance(per_page, int) and 1 <= per_page <= MAX_PER_PAGE
    ):
        raise ValidationFailed("page must be 1 or more and per_page 1 to 100", token="ValidationError")
    conditions = [owner_clause(user)]
    if status is not None:
        conditions.append(Dossier.status == status)
    code_query = (unsafe_code_query or "").replace("\x00", "").strip()[:MAX_CODE_QUERY]
    if code_query:
        escaped = code_query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Dossier.code.ilike(f"%{escaped}%", escape="\\"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Dossier).where(*conditions))
    dossiers = db.session.scalars(
        sa.select(Dossier)
        .where(*conditions)
        .options(selectinload(Dossier.events), selectinload(Dossier.pauses))
        .order_by(Dossier.received_at.desc().nulls_last(), Dossier.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    now = utcnow()
    return {
        "items": [serialize_summary(d, now=now) for d in dossiers],
        "total": total,
        "page": page,
        "per_page": per_page,
    }


def list_drafts(user: User) -> list[dict]:
    """The citizen's drafts, last changed first."""
    rows = db.session.execute(
        sa.select(Dossier, Procedure.name, Agency.name)
        .outerjoin(Procedure, Procedure.id == Dossier.procedure_id)
        .outerjoin(Agency, Agency.id == Dossier.agency_id)
        .where(Dossier.user_id == user.id, Dossier.state == "draft")
        .order_by(Dossier.updated_at.desc(), Dossier.id.desc())
    ).all()
    return [
        {
            "id": d.id,
            "online_service_id": d.online_service_id,
            "procedure_code": d.procedure_code,
            "procedure_name": procedure_name or d.procedure_code,
            "agency_code": d.agency_code,
            "agency_name": agency_name or d.agency_code,
            "created_at": vn_iso(d.created_at),
            "updated_at": vn_iso(d.updated_at),
        }
        for d, procedure_name, agency_name in rows
    ]


def get_dossier_for_owner(user: User, dossier_id) -> dict:
    """A filed dossier the citizen may see, whole: timeline, pauses, documents, rating.

    :raises NotFound: no such dossier, a draft, or someone else's.
    """
    dossier = find_owned(user, dossier_id)
    if dossier is None:
        raise not_found()
    return serialize_detail(dossier)


def get_draft(user: User, dossier_id) -> dict:
    """A draft of the citizen with its form schema, answers and files, for the filing form.

    :raises NotFound: no such draft, or someone else's.
    """
    dossier = find_owned_draft(user, dossier_id)
    if dossier is None:
        raise not_found()
    service = db.session.get(OnlineService, dossier.online_service_id) if dossier.online_service_id else None
    procedure_name, agency_name = _names(dossier)
    from portal.uploads import max_dossier_bytes, max_file_bytes

    return {
        "id": dossier.id,
        "online_service_id": dossier.online_service_id,
        "procedure_code": dossier.procedure_code,
        "procedure_name": procedure_name,
        "agency_code": dossier.agency_code,
        "agency_name": agency_name,
        "level": service.level if service else None,
        "full_online": service.full_online if service else None,
        "pays_online": service.pays_online if service else None,
        "form_schema": service.form_schema if service else {},
        "form_data": dict(dossier.form_data or {}),
        "documents": _documents(dossier),
        "total_bytes": sum(a.size for a in dossier.attachments),
        "max_file_bytes": max_file_bytes(),
        "max_dossier_bytes": max_dossier_bytes(),
        "created_at": vn_iso(dossier.created_at),
        "updated_at": vn_iso(dossier.updated_at),
    }


def _lookup_statement() -> sa.TextualSelect:
    """Everything the public lookup shows, in one statement on plain tables (no ORM state):
    the dossier's row, the procedure's and agency's names, when its result was first ready
    (or it was refused) and whether a pause is open.

    Plain SQL that PostgreSQL and SQLite both run, with one bound parameter: the hottest
    public read skips SQLAlchemy's statement compilation and parameter expansion, and
    psycopg prepares it once per connection.
    """
    done = ", ".join(str(int(status)) for status in (READY, DELIVERED, REFUSED))
    return sa.text(
        f"""
        SELECT d.code, d.status, d.applicant_phone, d.applicant_id_number, d.received_at, d.due_at,
               COALESCE(p.name, d.procedure_code) AS procedure_name,
               COALESCE(a.name, d.agency_code) AS agency_name,
               (SELECT MIN(e.occurred_at) FROM dossier_events e
                 WHERE e.dossier_id = d.id AND e.result = 'applied' AND e.status IN ({done})) AS finished_at,
               EXISTS (SELECT 1 FROM dossier_pauses dp
                        WHERE dp.dossier_id = d.id AND dp.ended_at IS NULL) AS paused
          FROM dossiers d
          LEFT OUTER JOIN procedures p ON p.id = d.procedure_id
          LEFT OUTER JOIN agencies a ON a.id = d.agency_id
         WHERE d.code = :code AND d.state = 'filed'
        """
    ).columns(
        sa.column("code", sa.String),
        sa.column("status", sa.SmallInteger),
        sa.column("applicant_phone", sa.String),
        sa.column("applicant_id_number", sa.String),
        sa.column("received_at", sa.DateTime(timezone=True)),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("procedure_name", sa.String),
        sa.column("agency_name", sa.String),
        sa.column("finished_at", sa.DateTime(timezone=True)),
        sa.column("paused", sa.Boolean),
    )


_LOOKUP = _lookup_statement()
_LOOKUP_PSYCOPG = _LOOKUP.element.text.replace(":code", "%(code)s")  # psycopg's parameter style
LookupRow = namedtuple(
    "LookupRow",
    "code status applicant_phone applicant_id_number received_at due_at procedure_name agency_name "
    "finished_at paused",
)


def find_for_lookup(code: str) -> LookupRow | sa.Row | None:
    """The public lookup's facts about the filed dossier with this code (see
    :func:`_lookup_statement`), or None.

    A single read needs no transaction: in autocommit it costs one round trip to the
    database, not BEGIN, SELECT and ROLLBACK. On PostgreSQL the statement goes straight to
    psycopg on a pooled connection (psycopg prepares it once per connection and hands back
    aware datetimes); SQLAlchemy's result machinery was most of this read's cost.
    """
    engine = db.engine
    if engine.dialect.driver == "psycopg":
        return _find_on_psycopg(engine, code)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(_LOOKUP, {"code": code}).first()


def _find_on_psycopg(engine: sa.Engine, code: str) -> LookupRow | None:
    pooled = engine.raw_connection()
    try:
        connection = pooled.driver_connection
        connection.autocommit = True
        try:
            row = connection.execute(_LOOKUP_PSYCOPG, {"code": code}).fetchone()
        finally:
            connection.autocommit = False
    finally:
        pooled.close()  # back to the pool
    return LookupRow(*row) if row is not None else None
