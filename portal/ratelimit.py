"""Rate limits: a default per client address on every route, in Redis when configured.

One Limiter per app (its storage and settings live on the limiter object). Health checks
are exempt: load balancers poll them. Domains that need limits keyed by something else
(an account, a dossier code) use :func:`hit` with their own key and limit string.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from portal.errors import RateLimited


def init_rate_limits(app: Flask) -> Limiter:
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        default_limits=[app.config["RATELIMIT_DEFAULT"]],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
        enabled=app.config.get("RATELIMIT_ENABLED", True),
    )
    app.extensions["portal_limiter"] = limiter
    return limiter


def exempt_blueprint(app: Flask, blueprint) -> None:
    app.extensions["portal_limiter"].exempt(blueprint)


def check(limit: str, *key_parts: str) -> None:
    """Raise RateLimited if ``limit`` is already exhausted for this key, without counting.

    :raises RateLimited: the limit is exhausted.
    """
    limiter: Limiter = current_app.extensions["portal_limiter"]
    if not limiter.enabled:
        return
    if not limiter.limiter.test(parse(limit), current_app.config["RATELIMIT_KEY_PREFIX"], *key_parts):
        raise RateLimited("too many attempts; please wait and try again")


def hit(limit: str, *key_parts: str) -> None:
    """Count one attempt against ``limit`` (e.g. "5 per 15 minutes") for this key.

    :raises RateLimited: the limit is exhausted.
    """
    limiter: Limiter = current_app.extensions["portal_limiter"]
    if not limiter.enabled:
        return
    item = parse(limit)
    if not limiter.limiter.hit(item, current_app.config["RATELIMIT_KEY_PREFIX"], *key_parts):
        raise RateLimited("too many attempts; please wait and try again")
