"""Public lookup of a dossier by its code and the applicant's phone or ID number."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app, has_request_context, request
from flask_babel import gettext as _

from portal.accounts.service import normalize_phone
from portal.db import utcnow
from portal.dossiers import queries
from portal.dossiers.statuses import judge, status_name, vn_iso
from portal.errors import NotFound
from portal.ratelimit import hit_all

LOOKUP_LIMIT = "10 per 15 minutes"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _normalise_secret(unsafe: str | None) -> str:
    value = re.sub(r"[\s.\-()]", "", unsafe or "")[:32]
    return normalize_phone(value) or ""


def public_lookup(unsafe_code: str | None, unsafe_secret: str | None) -> dict:
    """A dossier's public state, for anyone who knows its code and the applicant's phone
    number or ID number: {"code", "procedure_name", "agency_name", "status", "status_name",
    "received_at", "due_at", "timeliness"}. Nothing personal is returned.

    :raises RateLimited: 10 lookups per 15 minutes per client address, and per code.
    :raises NotFound: the same answer for an unknown code and for a wrong secret.
    """
    address = (request.remote_addr if has_request_context() else None) or "-"
    limit = current_app.config.get("LOOKUP_RATE_LIMIT") or LOOKUP_LIMIT
    code = (unsafe_code or "").strip()
    hit_all(limit, ("dossier-lookup", address), ("dossier-lookup-code", code[:64].upper() or "-"))
    secret = _normalise_secret(unsafe_secret)
    usable = 0 < len(code) <= 64 and "\x00" not in code
    row = queries.find_for_lookup(code) if usable else None
    candidates = (
        [_normalise_secret(row.applicant_phone), _normalise_secret(row.applicant_id_number)]
        if row is not None
        else ["", ""]
    )
    matched = False
    for candidate in candidates:
        # Digests make the comparison take the same time whatever the lengths.
        same = hmac.compare_digest(_digest(candidate), _digest(secret))
        matched = matched or (same and len(candidate) >= 9)
    if row is None or not matched:
        raise NotFound(_("No dossier matches this code and phone or ID number."), token="NotFound")
    return {
        "code": row.code,
        "procedure_name": row.procedure_name,
        "agency_name": row.agency_name,
        "status": row.status,
        "status_name": status_name(row.status),
        "received_at": vn_iso(row.received_at),
        "due_at": vn_iso(row.due_at),
        "timeliness": judge(row.status, row.due_at, row.finished_at, bool(row.paused), utcnow()),
    }
