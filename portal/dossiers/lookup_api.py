"""The public lookup as JSON: ``POST /api/v1/dossiers/lookup`` for apps and kiosks.

The same service and limits as the page (10 lookups per 15 minutes per client address and
per code; the same 404 for a wrong code and a wrong phone or ID number). A POST with a JSON
body, never a query string: the phone or ID number must not end up in URLs, proxies' logs
or browser history. It uses no cookie or session, so there is nothing for CSRF to protect;
a cross-site page cannot send ``application/json`` without the browser asking first, and
the portal sends no CORS headers.
"""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from portal.dossiers import service
from portal.dossiers.page_forms import MAX_CODE, MAX_SECRET
from portal.errors import UnsupportedMediaType, ValidationFailed
from portal.security import guard, public_access

bp = guard(Blueprint("lookup_api", __name__, url_prefix="/api/v1"), public_access)

_FIELDS = {"code": MAX_CODE, "secret": MAX_SECRET}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _body() -> dict[str, str]:
    """The two strings of the body, or ValidationFailed with one entry per problem."""
    if not request.is_json:
        raise UnsupportedMediaType(_("Send a JSON object with content type application/json."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(_("The body must be a JSON object with code and secret."))
    details = []
    values = {}
    for name, limit in _FIELDS.items():
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            details.append(
                {"error": "ValidationError", "field": name, "message": _("This field is required.")}
            )
        elif len(value) > limit:
            details.append(
                {
                    "error": "ValidationError",
                    "field": name,
                    "message": _("At most %(num)d characters.", num=limit),
                }
            )
        elif _CONTROL.search(value):
            details.append(
                {
                    "error": "ValidationError",
                    "field": name,
                    "message": _("This contains characters that cannot be used."),
                }
            )
        else:
            values[name] = value
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        details.append(
            {
                "error": "ValidationError",
                "field": unknown[0][:64],
                "message": _("Unknown field. Only code and secret are accepted."),
            }
        )
    if details:
        raise ValidationFailed(details[0]["message"], details=details)
    return values


@bp.post("/dossiers/lookup")
def lookup():
    values = _body()
    result = service.public_lookup(values["code"], values["secret"])
    response = jsonify(result)
    response.headers["Cache-Control"] = "private, no-store"
    return response
