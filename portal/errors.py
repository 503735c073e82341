"""The portal's small set of typed errors, and the one place they become responses.

Machines (every ``/api/`` route, and any request that asks for JSON) get the error shape
of contract/provincial-sync.md::

    {"status_code": 404, "errors": [{"error": "NotFound", "message": "..."}]}

People get a readable HTML page in their language. Nothing internal is ever shown.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class PortalError(Exception):
    status_code = 400
    token = "BadRequest"

    def __init__(self, message: str, *, token: str | None = None, details: list | None = None):
        super().__init__(message)
        self.message = message
        if token:
            self.token = token
        # Extra error entries (e.g. one per invalid parameter); each is {"error", "message"}.
        self.details = details or []

    def errors(self) -> list[dict]:
        return self.details or [{"error": self.token, "message": self.message}]


def errors_into(form, exc: PortalError, *, main_field: str | None = None, shown: str | None = None) -> None:
    """Put a service error's entries next to the form fields they name (or ``main_field``),
    the others at the top of the form; an entry saying ``shown`` (already at the top of the
    page) is not repeated there."""
    for item in exc.errors():
        field = getattr(form, item.get("field") or main_field or "", None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, item["message"]]
        elif item["message"] != shown:
            form.form_errors.append(item["message"])


class ValidationFailed(PortalError):
    status_code = 400
    token = "ValidationError"


class Unauthorized(PortalError):
    status_code = 401
    token = "Unauthorized"


class Forbidden(PortalError):
    status_code = 403
    token = "Forbidden"


class NotFound(PortalError):
    status_code = 404
    token = "NotFound"


class Conflict(PortalError):
    status_code = 409
    token = "Conflict"


class UnsupportedMediaType(PortalError):
    status_code = 415
    token = "UnsupportedMediaType"


class RateLimited(PortalError):
    status_code = 429
    token = "RateLimited"


# Stable tokens for the HTTP errors Werkzeug raises before our code runs.
_HTTP_TOKENS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "RateLimited",
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status_code: int, errors: list[dict]):
    if wants_json():
        response = jsonify({"status_code": status_code, "errors": errors})
        response.status_code = status_code
        return response
    html = render_template(
        "errors/error.html", status_code=status_code, message=_page_message(status_code, errors)
    )
    return make_response(html, status_code)


def _page_message(status_code: int, errors: list[dict]) -> str:
    generic = {
        400: _("The request could not be understood. Please check what you entered."),
        401: _("Please sign in to continue."),
        403: _("You do not have access to this page."),
        404: _("The page you asked for does not exist or has been moved."),
        405: _("This action is not allowed here."),
        413: _("What you sent is too large."),
        429: _("Too many requests. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Please try again later."),
    }
    if status_code in (400, 409) and errors:
        return errors[0].get("message") or generic[400]
    return generic.get(status_code, generic[500])


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(PortalError)
    def handle_portal_error(exc: PortalError):
        return error_response(exc.status_code, exc.errors())

    @app.errorhandler(CSRFError)
    def handle_csrf(exc: CSRFError):
        return error_response(
            400,
            [
                {
                    "error": "CSRFError",
                    "message": _(
                        "The form has expired or was not sent from this site. Please reload the page and try again."
                    ),
                }
            ],
        )

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        code = exc.code or 500
        token = _HTTP_TOKENS.get(code, "HTTPError")
        message = exc.description if code < 500 else "internal error"
        if code == 413:
            message = "request body is larger than allowed"
        response = error_response(code, [{"error": token, "message": message}])
        if code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        # The catch-all is last: log the traceback, show nothing internal.
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, [{"error": "InternalError", "message": "internal error"}])
