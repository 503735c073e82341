"""The access guards of partner sync: a signed request from an active partner, or a signed
file link that has not expired.

Failures answer 401 with the contract's error shape and say no more than the token
(``UnknownPartner``, ``StaleTimestamp``, ``InvalidSignature``); secrets never appear in
messages or logs.
"""

from __future__ import annotations

import time

from flask import current_app, g, request

from portal import ratelimit
from portal.errors import PortalError, Unauthorized
from portal.sync import partners as partner_service
from portal.sync import signing
from portal.sync.validation import MAX_BODY_BYTES, PayloadTooLarge


class LinkExpired(PortalError):
    status_code = 410
    token = "LinkExpired"


def _refuse(token: str, message: str) -> Unauthorized:
    return Unauthorized(message, token=token)


def require_partner():
    """Guard of the sync API: the request is signed by an active partner's active secret."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge("request body is larger than allowed")
    request.max_content_length = MAX_BODY_BYTES  # also bodies sent without a length
    partner = partner_service.find_caller(request.headers.get(signing.HEADER_PARTNER))
    if partner is None:
        raise _refuse("UnknownPartner", "unknown or disabled partner")
    timestamp = request.headers.get(signing.HEADER_TIMESTAMP, "")
    if not signing.timestamp_fresh(timestamp, now=time.time()):
        raise _refuse("StaleTimestamp", "timestamp outside the allowed window")
    body = request.get_data(cache=True)
    candidates = signing.parse_signatures(request.headers.get(signing.HEADER_SIGNATURE))
    if not candidates or not signing.matches(candidates, list(partner.secrets), timestamp.strip(), body):
        raise _refuse("InvalidSignature", "signature does not match")
    ratelimit.hit(current_app.config["SYNC_RATE_LIMIT"], "sync", partner.code)
    g.sync_partner = {"code": partner.code, "source": partner.source}


def require_signed_link():
    """Guard of signed file links: a genuine token that has not expired."""
    token = (request.view_args or {}).get("token", "")
    value = signing.read_file_token(token)
    if value is None:
        raise _refuse("InvalidSignature", "this link is not valid")
    attachment_id, expires = value
    if time.time() > expires:
        raise LinkExpired("this link has expired; read the dossier again for a fresh one")
    g.sync_attachment_id = attachment_id
