"""Security plumbing shared by every blueprint: access guards, headers, request ids.

Access control is structural: every blueprint declares its guard where it is created with
``guard(bp, some_guard)``. ``tests/test_route_guards.py`` walks ``app.url_map`` and fails
on any endpoint that is neither behind a declared guard nor in ``PUBLIC_ENDPOINTS``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from flask import Blueprint, Flask, abort, current_app, g, request

# Blueprint name -> the guard it declared.
GUARDS: dict[str, str] = {}

# Endpoints outside any guarded blueprint that anyone may reach, on purpose.
PUBLIC_ENDPOINTS = {"static"}


def guard(bp: Blueprint, check: Callable[[], object]) -> Blueprint:
    """Declare ``check`` as the access guard of every route of ``bp``."""
    bp.before_request(check)
    GUARDS[bp.name] = check.__name__
    return bp


def public_access():
    """The guard of blueprints open to everyone (catalog pages, health checks).

    Declaring it is the point: a public blueprint says so where it is created, and the
    route-guard test can tell it from one whose author forgot a guard.
    """
    return None


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def signing_keys(config=None) -> list[str]:
    """SECRET_KEY_FALLBACKS then SECRET_KEY (of ``config``, else the current app's): the
    order itsdangerous takes a list of keys in. It signs with the last, SECRET_KEY, and
    accepts what any of them signed, so rotating SECRET_KEY breaks nothing outstanding while
    the old key is a fallback."""
    config = current_app.config if config is None else config
    return [*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"]]


class CurrentSigningKeys:
    """:func:`signing_keys` of the current app, read whenever a serializer is built.

    Flask-WTF signs CSRF tokens with WTF_CSRF_SECRET_KEY, or SECRET_KEY alone; given this
    instead (itsdangerous takes any iterable of keys), a form a browser loaded before a
    rotation still posts while the old key is in SECRET_KEY_FALLBACKS. Read late, like
    SECRET_KEY itself, so the configuration stays the one place the keys are.
    """

    def __iter__(self):
        return iter(signing_keys())

    def __repr__(self) -> str:
        return "<SECRET_KEY_FALLBACKS + SECRET_KEY>"  # never the keys, should config be logged


def register_security(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_SECRET_KEY", CurrentSigningKeys())

    @app.before_request
    def assign_request_id():
        unsafe_id = request.headers.get("X-Request-Id", "")
        g.request_id = unsafe_id if _REQUEST_ID.match(unsafe_id) else secrets.token_hex(8)

    @app.before_request
    def refuse_oversized_bodies():
        # Refuse by the declared length before anything reads the body; Werkzeug still
        # enforces MAX_CONTENT_LENGTH on bodies sent without a length (chunked).
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            abort(413)

    defaults = [
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if app.config.get("HSTS"):
        defaults.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    @app.after_request
    def security_headers(response):
        # What a view set itself (the pay page's own CSP) stays; the rest are added. One pass
        # over the response's headers, not one per default.
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        for name, value in defaults:
            if name.lower() not in present:
                headers.add(name, value)
        if "x-request-id" in present:
            headers["X-Request-Id"] = g.get("request_id", "")
        else:
            headers.add("X-Request-Id", g.get("request_id", ""))
        return response


def safe_next_url(unsafe_next: str | None, default: str = "/") -> str:
    """A redirect target on this portal only: a local path, never another site.

    Refuses absolute URLs, scheme-relative ``//host`` and backslash tricks (``/\\host``),
    control characters and anything over 2,000 characters.
    """
    if not unsafe_next or len(unsafe_next) > 2000:
        return default
    if not unsafe_next.startswith("/") or unsafe_next.startswith("//") or "\\" in unsafe_next:
        return default
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in unsafe_next):
        return default
    from urllib.parse import urlsplit

    parts = urlsplit(unsafe_next)
    if parts.scheme or parts.netloc:
        return default
    return unsafe_next
