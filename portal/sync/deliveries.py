"""Outbound deliveries: dossiers filed on the portal, sent to the responsible partner.

The outbox row (``Delivery``) is written in the same transaction as the filed dossier
(:func:`portal.dossiers.service.submit`). Sending it:

1. *Claim*: one conditional UPDATE moves due rows to ``sending`` with a lease
   (``locked_until``) and counts the attempt. PostgreSQL picks candidates with ``FOR UPDATE
   SKIP LOCKED``; SQLite serialises writers. Two workers never hold the same row, and a row
   whose worker died is claimable again once its lease is over.
2. *Send*, outside any transaction: ``POST <base URL>/dossiers``, signed, with the same
   ``X-Portal-Delivery`` id on every try, SYNC_DELIVERY_TIMEOUT seconds at most.
3. *Record*, conditional on still holding the claim: ``delivered`` on any 2xx; otherwise
   ``pending`` again after a growing delay, until SYNC_RETRY_FOR_HOURS (at least 24) have
   passed, then ``failed`` (listed and retried with ``flask deliveries``).

A send whose answer is lost (the worker dies after the partner accepted) is sent again with
the same delivery id: partners deduplicate on it. That is the only way a partner sees a
delivery twice, and the contract tells them so.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from flask import current_app

from portal.db import transactional, utcnow
from portal.dossiers.models import Attachment, Delivery, Dossier
from portal.dossiers.statuses import aware, vn_iso
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.sync import partners as partner_service
from portal.sync import signing

log = logging.getLogger(__name__)

T = Delivery.__table__
CLAIMABLE = ("pending", "sending")


def delivery_body(dossier: Dossier) -> dict:
    """What a partner receives for a filed dossier (and reads from the pull feed).

    One function so later issues (payments) add their part here.
    """
    ttl = int(current_app.config["SYNC_LINK_TTL_SECONDS"])
    expires = int(time.time()) + ttl
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    attachments = db.session.scalars(
        sa.select(Attachment).where(Attachment.dossier_id == dossier.id).order_by(Attachment.id)
    ).all()
    return {
        "dossier_code": dossier.code,
        "procedure_code": dossier.procedure_code,
        "agency_code": dossier.agency_code,
        "channel": dossier.channel,
        "status": dossier.status,
        "received_at": vn_iso(dossier.received_at),
        "due_at": vn_iso(dossier.due_at),
        "summary": dossier.summary,
        "applicant": {
            "name": dossier.applicant_name,
            "id_number": dossier.applicant_id_number,
            "phone": dossier.applicant_phone,
            "email": dossier.applicant_email,
        },
        "form_data": dossier.form_data or {},
        "attachments": [
            {
                "document_key": a.document_key,
                "kind": a.kind,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "url": f"{base}/api/sync/files/{signing.file_token(a.id, expires)}",
                "expires_at": vn_iso(datetime.fromtimestamp(expires, UTC)),
            }
            for a in attachments
        ],
    }


# ------------------------------------------------------------------------------- claiming


def _due_clause(now: datetime):
    return sa.or_(
        sa.and_(T.c.state == "pending", T.c.next_attempt_at <= now),
        sa.and_(T.c.state == "sending", T.c.locked_until < now),
    )


@transactional
def claim(*, delivery_id: str | None = None, limit: int = 20) -> list[tuple[str, int]]:
    """Claim due deliveries (one by id, or up to ``limit``): (id, attempt number) of each."""
    now = utcnow()
    lease = now + timedelta(seconds=int(current_app.config["SYNC_DELIVERY_LEASE_SECONDS"]))
    candidates = sa.select(T.c.id).where(_due_clause(now))
    if delivery_id is not None:
        candidates = candidates.where(T.c.id == delivery_id)
    candidates = candidates.order_by(T.c.next_attempt_at).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    rows = db.session.execute(
        sa.update(T)
        .where(T.c.id.in_(candidates.scalar_subquery()), _due_clause(now))
        .values(state="sending", locked_until=lease, attempts=T.c.attempts + 1)
        .returning(T.c.id, T.c.attempts)
    ).all()
    return [(row.id, row.attempts) for row in rows]


# -------------------------------------------------------------------------------- sending


@dataclass
class Outgoing:
    url: str | None
    partner_code: str | None
    body: bytes
    headers: dict[str, str]
    skip: str | None = None  # why it cannot be sent now


def _prepare(delivery_id: str) -> Outgoing | None:
    delivery = db.session.get(Delivery, delivery_id)
    dossier = db.session.get(Dossier, delivery.dossier_id) if delivery else None
    if dossier is None:
        return None
    partner = partner_service.responsible_partner(delivery.agency_code)
    body = json.dumps(delivery_body(dossier), ensure_ascii=False, separators=(",", ":")).encode()
    if partner is None:
        return Outgoing(None, None, body, {}, skip="no partner receives this agency's dossiers")
    if not partner.base_url:
        return Outgoing(None, partner.code, body, {}, skip="feed")
    secrets_ = partner_service.readable_secrets(partner)
    if not secrets_:
        return Outgoing(None, partner.code, body, {}, skip="the partner has no usable secret")
    headers = signing.sign_headers(partner.code, secrets_[0], body)
    headers[signing.HEADER_DELIVERY] = delivery_id
    headers["Content-Type"] = "application/json"
    return Outgoing(partner.base_url + "/dossiers", partner.code, body, headers)


def send(delivery_id: str, attempt: int) -> str:
    """Send one claimed delivery and record the outcome: its new state."""
    outgoing = _prepare(delivery_id)
    db.session.rollback()  # no transaction stays open while the partner answers
    if outgoing is None:
        return _record(delivery_id, attempt, ok=False, error="the dossier no longer exists", final=True)
    if outgoing.skip == "feed":
        return _record(
            delivery_id,
            attempt,
            ok=False,
            error="the partner reads the pull feed",
            state="feed",
            partner_code=outgoing.partner_code,
        )
    if outgoing.skip:
        return _record(
            delivery_id, attempt, ok=False, error=outgoing.skip, partner_code=outgoing.partner_code
        )
    status, error = None, None
    try:
        response = httpx.post(
            outgoing.url,
            content=outgoing.body,
            headers=outgoing.headers,
            timeout=float(current_app.config["SYNC_DELIVERY_TIMEOUT"]),
            follow_redirects=False,
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"the partner answered {status}"
    except httpx.HTTPError as exc:
        error = f"no answer: {type(exc).__name__}"
    return _record(
        delivery_id, attempt, ok=error is None, error=error, status=status, partner_code=outgoing.partner_code
    )


def retry_delay(attempt: int) -> int:
    """Seconds before try ``attempt + 1``: doubling from SYNC_RETRY_BASE_SECONDS, capped."""
    config = current_app.config
    base, cap = int(config["SYNC_RETRY_BASE_SECONDS"]), int(config["SYNC_RETRY_MAX_SECONDS"])
    return min(cap, base * 2 ** min(max(attempt - 1, 0), 30))


@transactional
def _record(
    delivery_id: str,
    attempt: int,
    *,
    ok: bool,
    error: str | None = None,
    status: int | None = None,
    partner_code: str | None = None,
    state: str | None = None,
    final: bool = False,
) -> str:
    now = utcnow()
    row = db.session.execute(sa.select(T.c.created_at, T.c.give_up_at).where(T.c.id == delivery_id)).first()
    if row is None:
        return "gone"
    values: dict = {"locked_until": None, "last_status": status, "partner_code": partner_code}
    if ok:
        values.update(state="delivered", delivered_at=now, last_error=None)
    elif state:
        values.update(state=state, last_error=error)
    else:
        give_up = aware(row.give_up_at) or aware(row.created_at) + timedelta(
            hours=float(current_app.config["SYNC_RETRY_FOR_HOURS"])
        )
        if final or now >= give_up:
            values.update(state="failed", last_error=error)
        else:
            values.update(
                state="pending",
                last_error=error,
                next_attempt_at=min(now + timedelta(seconds=retry_delay(attempt)), give_up),
            )
    updated = db.session.execute(
        sa.update(T)
        .where(T.c.id == delivery_id, T.c.state == "sending", T.c.attempts == attempt)
        .values(**values)
    ).rowcount
    if updated != 1:
        # The lease ran out and another worker took the row over: its outcome counts.
        log.warning("delivery outcome dropped: claim lost", extra={"delivery_id": delivery_id})
        return "lost"
    if not ok:
        log.info(
            "delivery not accepted", extra={"delivery_id": delivery_id, "attempt": attempt, "error": error}
        )
    return values["state"]


def deliver(delivery_id: str) -> str | None:
    """Try one delivery now if it is due (the job queued when the dossier is filed)."""
    claimed = claim(delivery_id=delivery_id, limit=1)
    if not claimed:
        return None
    return send(*claimed[0])


def sweep(limit: int = 50) -> dict[str, int]:
    """Claim and send every due delivery, ``limit`` at a time; counts of outcomes."""
    outcomes: dict[str, int] = {}
    while True:
        claimed = claim(limit=limit)
        for delivery_id, attempt in claimed:
            state = send(delivery_id, attempt)
            outcomes[state] = outcomes.get(state, 0) + 1
        if len(claimed) < limit:
            return outcomes


# ---------------------------------------------------------------------- staff operations


def list_deliveries(state: str | None = None, limit: int = 100) -> list[dict]:
    query = sa.select(Delivery, Dossier.code).join(Dossier, Dossier.id == Delivery.dossier_id)
    if state:
        query = query.where(Delivery.state == state)
    rows = db.session.execute(query.order_by(Delivery.created_at.desc()).limit(limit)).all()
    return [
        {
            "id": d.id,
            "dossier_code": code,
            "agency_code": d.agency_code,
            "partner_code": d.partner_code,
            "state": d.state,
            "attempts": d.attempts,
            "next_attempt_at": vn_iso(d.next_attempt_at),
            "last_status": d.last_status,
            "last_error": d.last_error,
            "created_at": vn_iso(d.created_at),
            "delivered_at": vn_iso(d.delivered_at),
        }
        for d, code in rows
    ]


RETRYABLE = ("failed", "feed")


@transactional
def retry(delivery_id: str) -> None:
    """Send a failed (or pull-feed) delivery again now, with a fresh retry window.

    :raises NotFound: no such delivery.
    :raises Conflict: it is not failed (``NotFailed``): pending ones are retried already.
    """
    reopen(delivery_id)


def reopen(delivery_id: str) -> str:
    """Part of the caller's transaction: make a failed delivery due now, with a fresh retry
    window, and queue its send for after the commit. Returns the state it had.

    One conditional UPDATE: of two staff retrying the same delivery at once, one wins and
    the other gets ``NotFailed`` (the delivery is sent once, and audited once).

    :raises NotFound: no such delivery.
    :raises Conflict: it is not failed (``NotFailed``): pending ones are retried already.
    """
    before = db.session.scalar(sa.select(T.c.state).where(T.c.id == delivery_id))
    if before is None:
        raise NotFound(f"no delivery {delivery_id}")
    now = utcnow()
    updated = db.session.execute(
        sa.update(T)
        .where(T.c.id == delivery_id, T.c.state.in_(RETRYABLE))
        .values(
            state="pending",
            next_attempt_at=now,
            give_up_at=now + timedelta(hours=float(current_app.config["SYNC_RETRY_FOR_HOURS"])),
        )
    ).rowcount
    if updated != 1:
        raise Conflict(f"delivery {delivery_id} is {before}, not failed", token="NotFailed")
    from portal.jobs import enqueue

    enqueue("sync.deliver", delivery_id)
    return before
