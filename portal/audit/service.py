"""Recording audit entries. Every staff action and security event goes through here.

``record`` adds the entry to the caller's transaction: it is written if and only if the
action is. ``record_now`` writes on a connection of its own and commits at once: for
security events (a failed sign-in, a wrong two-factor code) whose operation then fails.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context

from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.extensions import db

MAX_VALUE = 2000


def _actor(actor: Any) -> tuple[str, int | None, str]:
    if actor is None:
        return "anonymous", None, "-"
    if isinstance(actor, str):
        return "system", None, actor[:254]
    kind = getattr(actor, "audit_kind", "citizen")
    label = getattr(actor, "email", None) or getattr(actor, "full_name", None) or str(actor.id)
    return kind, actor.id, label[:254]


def _target(target: Any) -> tuple[str | None, str | None]:
    if target is None:
        return None, None
    if isinstance(target, tuple):
        kind, ident = target
        return str(kind)[:32], (None if ident is None else str(ident)[:64])
    return target.__tablename__[:32], str(target.id)[:64]


def _clip(changes: dict | None) -> dict:
    """Keep entries readable and bounded: long values are cut, nothing is dropped silently."""
    result = {}
    for key, value in (changes or {}).items():
        if isinstance(value, str) and len(value) > MAX_VALUE:
            value = value[:MAX_VALUE] + "…"
        result[str(key)[:64]] = value
    return result


def _values(actor, action: str, target, changes: dict | None, request) -> dict:
    actor_kind, actor_id, actor_label = _actor(actor)
    target_type, target_id = _target(target)
    values = {
        "occurred_at": utcnow(),
        "actor_kind": actor_kind,
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action[:64],
        "target_type": target_type,
        "target_id": target_id,
        "changes": _clip(changes),
        "ip_address": None,
        "user_agent": None,
        "request_id": None,
    }
    if request is not None:
        values["ip_address"] = (request.remote_addr or "")[:64] or None
        values["user_agent"] = (request.user_agent.string or "")[:300] or None
        values["request_id"] = g.get("request_id") if has_request_context() else None
    return values


def record(actor, action: str, target=None, changes: dict | None = None, request=None) -> AuditEntry:
    """Add an audit entry to the current transaction (no commit).

    ``actor``: a staff member, a citizen, a system name (str) or None (anonymous).
    ``target``: a model instance, a ``(type, id)`` pair or None. ``changes``: what changed,
    as ``{"field": [old, new]}`` or any small JSON object; never secrets.
    ``request``: the Flask request, for the address, browser and request id.
    """
    entry = AuditEntry(**_values(actor, action, target, changes, request))
    db.session.add(entry)
    return entry


def record_now(actor, action: str, target=None, changes: dict | None = None, request=None) -> None:
    """Write an audit entry at once on its own connection, whatever the caller's
    transaction does next (security events of operations that then fail)."""
    with db.engine.begin() as connection:
        connection.execute(
            AuditEntry.__table__.insert().values(**_values(actor, action, target, changes, request))
        )
