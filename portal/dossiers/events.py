"""Status changes of dossiers, from the portal, the citizen and partners, and the notices of them.

:func:`apply_status` is shared: the citizen's actions (:mod:`portal.dossiers.service`) and
partner sync record every event through it, inside their own transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.accounts.models import User
from portal.db import transactional, utcnow
from portal.dossiers import queries
from portal.dossiers.models import (
    DELIVERED,
    FINAL_STATUSES,
    PAUSED_STATUSES,
    REFUSED,
    WITHDRAWN,
    Dossier,
    DossierEvent,
    DossierPause,
)
from portal.dossiers.statuses import STATUS_NAMES, aware, extend_due, paused_working_days, vn_text
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.jobs import enqueue
from portal.mail import queue_mail


def closed_error() -> Conflict:
    return Conflict(_("This dossier is closed: its status can no longer change."), token="InvalidTransition")


def apply_status(
    dossier: Dossier,
    status: int,
    *,
    occurred_at: datetime,
    source: str,
    external_id: str | None = None,
    note: str | None = None,
    handler: dict | None = None,
    due_at: datetime | None = None,
    notify: bool = True,
) -> DossierEvent:
    """Record a status event of a (flushed, filed) dossier; part of the caller's transaction.

    An event older than the dossier's newest is kept as ``stale`` and changes nothing else.
    Otherwise the status becomes the event's: pauses open on 5, 6 and 8 and close on any
    other status, moving the due date by the working days paused (unless the event brings
    its own ``due_at``, which then wins); 3, 7 and 10 set ``finished_at``. The applicant is
    e-mailed after the commit (job ``dossiers.notify_status``) unless ``notify`` is false.
    Returns the event; ``event.result`` is ``applied`` or ``stale``. Repeats of an
    ``external_id`` are the caller's to detect (the pair (source, external_id) is unique).

    :raises ValidationFailed: a status outside 1-10, or a time without its zone.
    :raises Conflict: ``InvalidTransition``: the dossier is in a final status (3, 7, 10)
        and a newer event would move it out.
    """
    if isinstance(status, bool) or status not in STATUS_NAMES:
        raise ValidationFailed("status must be a national status code 1-10", token="ValidationError")
    if occurred_at.tzinfo is None or (due_at is not None and due_at.tzinfo is None):
        raise ValidationFailed("times must carry their time zone", token="ValidationError")
    occurred = occurred_at.astimezone(UTC)
    due = due_at.astimezone(UTC) if due_at is not None else None
    last = aware(dossier.last_event_at)
    stale = last is not None and occurred < last
    if not stale and dossier.status in FINAL_STATUSES and status != dossier.status:
        raise closed_error()
    handler = handler or {}
    event = DossierEvent(
        dossier_id=dossier.id,
        status=status,
        occurred_at=occurred,
        recorded_at=utcnow(),
        source=source[:48],
        external_id=external_id,
        result="stale" if stale else "applied",
        note=note,
        handler_name=str(handler["name"])[:200] if handler.get("name") else None,
        handler_unit=str(handler["unit"])[:300] if handler.get("unit") else None,
        due_at=due,
    )
    db.session.add(event)
    if not stale:
        _move_clock(dossier, status, occurred, due)
        dossier.status = status
        dossier.last_event_at = occurred
        if status in (REFUSED, WITHDRAWN, DELIVERED) and dossier.finished_at is None:
            dossier.finished_at = occurred
    db.session.flush()
    db.session.expire(dossier, ["events", "pauses"])
    if notify and not stale:
        enqueue("dossiers.notify_status", event.id)
    return event


def _move_clock(dossier: Dossier, status: int, at: datetime, due: datetime | None) -> None:
    pause = queries.open_pause(dossier)
    if pause is not None and status != pause.status:
        pause.ended_at = at
        if due is None and dossier.due_at is not None and status not in FINAL_STATUSES:
            dossier.due_at = extend_due(dossier.due_at, paused_working_days(pause.started_at, at))
        pause = None
    if status in PAUSED_STATUSES and pause is None:
        db.session.add(DossierPause(dossier_id=dossier.id, status=status, started_at=at))
    if due is not None:
        dossier.due_at = due
        if dossier.original_due_at is None:
            dossier.original_due_at = due


def _amount_asked(event: DossierEvent) -> str | None:
    """The amount a status 6 event asked for (recorded by partner sync under the event's own
    source and id), written out in đồng; None for any other event."""
    if event.status != 6 or not event.external_id:
        return None
    from portal.payments.models import FeeLine
    from portal.payments.receipts import money

    amount = db.session.scalar(
        sa.select(FeeLine.amount).where(
            FeeLine.source == event.source[:48], FeeLine.external_id == event.external_id
        )
    )
    return f"{money(amount)} đ" if amount else None


@transactional
def send_status_notice(event_id: int) -> None:
    """E-mail the applicant about an applied status event, once: the event is claimed by
    setting ``notified_at``, so a second run (retry, second worker) sends nothing."""
    claimed = db.session.execute(
        sa.update(DossierEvent)
        .where(
            DossierEvent.id == event_id, DossierEvent.notified_at.is_(None), DossierEvent.result == "applied"
        )
        .values(notified_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return
    event = db.session.get(DossierEvent, event_id)
    dossier = db.session.get(Dossier, event.dossier_id)
    owner = db.session.get(User, dossier.user_id) if dossier.user_id else None
    locale = (owner.locale if owner else None) or "vi"
    to = dossier.applicant_email or (owner.email if owner else None)
    summary = queries.serialize_summary(dossier)
    asked = _amount_asked(event)
    with force_locale(locale):
        status_words = STATUS_NAMES[event.status]["en" if locale == "en" else "vi"]
        text = render_template(
            "dossiers/mail/status_changed.txt",
            name=dossier.applicant_name,
            code=dossier.code,
            procedure_name=summary["procedure_name"],
            agency_name=summary["agency_name"],
            status=status_words,
            occurred=vn_text(event.occurred_at),
            note=event.note,
            due=vn_text(dossier.due_at) if dossier.due_at else None,
            amount=asked,
            url=current_app.config.get("PUBLIC_URL", ""),
        )
        queue_mail(to, _("Dossier %(code)s: %(status)s", code=dossier.code, status=status_words), text)
