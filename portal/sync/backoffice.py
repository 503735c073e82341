"""The back office's partner operations: failed deliveries (list, detail, retry) and partner
credentials (list, create, rotate, revoke, on/off).

Every function checks the staff member's permission first (portal.staff.roles) and, for
deliveries, the agency scope: an agency officer sees and retries only the deliveries of
dossiers at their agencies; anything else is "not found", as if it did not exist. The
credential functions call :mod:`portal.sync.partners` (the same code as ``flask partners``),
so the rules (two active secrets at most, audit entries that never hold a secret) are one.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.db import transactional
from portal.dossiers.models import Delivery, Dossier
from portal.dossiers.statuses import vn_iso
from portal.errors import Conflict, NotFound, PortalError, ValidationFailed
from portal.extensions import db
from portal.staff.roles import require
from portal.staff.scope import scoped
from portal.sync import deliveries, partners
from portal.sync.models import MAX_ACTIVE_SECRETS

PAGE_SIZE = 50
MAX_SELECTED = 200
STATES = ("failed", "feed", "pending", "sending", "delivered")
# What a delivery's last error may never show, even if a partner echoed it back.
_SECRETISH = re.compile(r"pss_[A-Za-z0-9_\-]+|(?i:(?:secret|signature|token)[=:]\s*)\S+")


def _audit(actor, action: str, target, changes: dict) -> None:
    from flask import has_request_context, request

    from portal.audit.service import record

    record(actor, action, target, changes, request if has_request_context() else None)


def clean_error(text: str | None) -> str | None:
    """A delivery's last error as staff may read it: anything that looks like a secret or a
    signature is blanked."""
    if not text:
        return text
    return _SECRETISH.sub("[…]", text)[:500]


# ---------------------------------------------------------------------------- deliveries


def _scoped_deliveries(staff):
    query = sa.select(Delivery, Dossier.code).join(Dossier, Dossier.id == Delivery.dossier_id)
    return scoped(query, Dossier.agency_id, staff)


def _row(delivery: Delivery, dossier_code: str) -> dict:
    return {
        "id": delivery.id,
        "dossier_id": delivery.dossier_id,
        "dossier_code": dossier_code,
        "agency_code": delivery.agency_code,
        "partner_code": delivery.partner_code,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": clean_error(delivery.last_error),
        "created_at": vn_iso(delivery.created_at),
        "next_attempt_at": vn_iso(delivery.next_attempt_at),
        "give_up_at": vn_iso(delivery.give_up_at),
        "delivered_at": vn_iso(delivery.delivered_at),
        "retryable": delivery.state in deliveries.RETRYABLE,
    }


def list_deliveries(
    staff, *, state: str | None = "failed", partner_code: str | None = None, page: int = 1
) -> tuple[list[dict], bool]:
    """Deliveries in the staff member's scope, newest first, one page; and whether there
    is a next page. ``state`` None: every state.

    :raises Forbidden: the staff member may not manage deliveries.
    """
    require(staff, "deliveries.manage")
    query = _scoped_deliveries(staff)
    if state:
        query = query.where(Delivery.state == state)
    if partner_code:
        query = query.where(Delivery.partner_code == partner_code)
    page = max(1, min(page, 10_000))
    rows = db.session.execute(
        query.order_by(Delivery.created_at.desc(), Delivery.id)
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return [_row(d, code) for d, code in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def partner_codes() -> list[str]:
    """Every partner's code, for the filter."""
    return [p["code"] for p in partners.list_partners()]


def _find(staff, delivery_id: str) -> tuple[Delivery, str]:
    if not isinstance(delivery_id, str) or not 0 < len(delivery_id) <= 36:
        raise NotFound(_("This delivery does not exist."))
    found = db.session.execute(_scoped_deliveries(staff).where(Delivery.id == delivery_id)).first()
    if found is None:
        raise NotFound(_("This delivery does not exist."))
    return found[0], found[1]


def delivery_detail(staff, delivery_id: str) -> dict:
    """One delivery, with its tries and last answer (never a secret).

    :raises Forbidden: no permission. :raises NotFound: unknown, or outside the officer's scope.
    """
    require(staff, "deliveries.manage")
    delivery, code = _find(staff, delivery_id)
    return _row(delivery, code)


def _retry_one(staff, delivery_id: str) -> None:
    delivery, code = _find(staff, delivery_id)
    try:
        before = deliveries.reopen(delivery.id)
    except Conflict as exc:
        raise Conflict(
            _(
                "The delivery of dossier %(code)s is not failed (it is %(state)s): nothing to retry.",
                code=code,
                state=delivery.state,
            ),
            token=exc.token,
        ) from None
    _audit(
        staff,
        "delivery.retry",
        ("deliveries", delivery.id),
        {"dossier_code": code, "partner_code": delivery.partner_code, "state": [before, "pending"]},
    )


@transactional
def retry_delivery(staff, delivery_id: str) -> None:
    """Send one failed delivery again now (a fresh retry window), audited.

    :raises Forbidden: no permission. :raises NotFound: unknown or outside the scope.
    :raises Conflict: ``NotFailed``: it is pending, sending or delivered already (a replay).
    """
    require(staff, "deliveries.manage")
    _retry_one(staff, delivery_id)


@transactional
def retry_deliveries(staff, unsafe_ids: list[str]) -> int:
    """Send the selected failed deliveries again, all or none: how many.

    :raises Forbidden: no permission. :raises ValidationFailed: none selected, or too many.
    :raises NotFound: one is unknown or outside the scope.
    :raises Conflict: one is no longer failed (retried meanwhile); nothing is retried.
    """
    require(staff, "deliveries.manage")
    ids = list(dict.fromkeys(i for i in unsafe_ids if i))
    if not ids:
        raise ValidationFailed(_("Select at least one delivery to retry."))
    if len(ids) > MAX_SELECTED:
        raise ValidationFailed(_("Select at most %(count)s deliveries at a time.", count=MAX_SELECTED))
    for delivery_id in ids:
        _retry_one(staff, delivery_id)
    return len(ids)


# --------------------------------------------------------------------------- credentials


def list_partners(staff) -> list[dict]:
    """Partners with their active secrets' ids and dates (never the secrets).

    :raises Forbidden: not an administrator.
    """
    require(staff, "partners.manage")
    rows = []
    for partner in partners.list_partners():
        active = [s for s in partner["secrets"] if not s["revoked_at"]]
        rows.append(
            {
                **partner,
                "active_secrets": active,
                "revoked_count": len(partner["secrets"]) - len(active),
                "can_rotate": len(active) < MAX_ACTIVE_SECRETS,
            }
        )
    return rows


def _fail_on(exc: PortalError, field: str | None = None):
    """The partners module's errors speak to operators in English; staff get their language."""
    messages = {
        "PartnerExists": _("A partner with this code exists already."),
        "TooManySecrets": _(
            "This partner has two active secrets already: revoke the old one before making a new one."
        ),
        "NotFound": _("This partner or secret does not exist."),
    }
    message = messages.get(exc.token) or (
        _("Enter an http(s) address without a query or fragment.")
        if "URL" in exc.message
        else _("Enter an agency code such as H56 or 000.00.00.G17.")
    )
    details = [{"error": exc.token, "field": field, "message": message}] if field else None
    return type(exc)(message, token=exc.token, details=details)


def create_partner(staff, *, code: str, name: str | None, base_url: str | None) -> str:
    """Create a partner with its first secret; returns the secret, to be shown once.

    :raises Forbidden: not an administrator. :raises ValidationFailed: a bad code or URL
        (``field`` says which). :raises Conflict: the partner exists.
    """
    require(staff, "partners.manage")
    try:
        return partners.create_partner(
            (code or "").strip(), base_url=(base_url or "").strip() or None, name=name, actor=staff
        )
    except ValidationFailed as exc:
        raise _fail_on(exc, "base_url" if "URL" in exc.message else "code") from None
    except Conflict as exc:
        raise _fail_on(exc, "code") from None


def rotate_secret(staff, code: str) -> str:
    """A new secret beside the old one (both valid until the old is revoked); returns it,
    to be shown once.

    :raises Forbidden, NotFound: :raises Conflict: two secrets are active already.
    """
    require(staff, "partners.manage")
    try:
        return partners.rotate_secret(code, actor=staff)
    except (NotFound, Conflict) as exc:
        raise _fail_on(exc) from None


def revoke_secret(staff, code: str, secret_id: int) -> None:
    """Revoke one secret of a partner (effective on its next request). The last active
    secret cannot be revoked here: turn the partner off instead, or rotate first.

    :raises Forbidden, NotFound: :raises Conflict: ``LastSecret``.
    """
    require(staff, "partners.manage")
    listed = {p["code"]: p for p in partners.list_partners()}
    partner = listed.get(code)
    active = [s["id"] for s in partner["secrets"] if not s["revoked_at"]] if partner else []
    if secret_id not in active:
        raise NotFound(_("This partner or secret does not exist."))
    if len(active) == 1:
        raise Conflict(
            _("This is the partner's only active secret: make a new one first, or turn the partner off."),
            token="LastSecret",
        )
    try:
        partners.revoke(code, secret_id=secret_id, actor=staff)
    except NotFound as exc:
        raise _fail_on(exc) from None


def switch_partner(staff, code: str, *, active: bool) -> None:
    """Turn a partner on or off (off: its requests are refused, nothing is delivered to it).

    :raises Forbidden, NotFound:
    """
    require(staff, "partners.manage")
    try:
        partners.set_partner(code, active=active, actor=staff)
    except NotFound as exc:
        raise _fail_on(exc) from None
