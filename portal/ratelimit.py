"""Rate limits: a default per client address on every route, in Redis when configured.

Built on the ``limits`` library (fixed windows; Redis storage in production, memory under
the embedded default), one limiter per app. The default limit is one counter hit in a
before-request hook. Blueprints exempt from it say so with :func:`exempt_blueprint`:
health checks (load balancers poll them) and catalog reads (metered by what reaches the
database instead, see portal.catalog.service). Domains that need limits keyed by
something else (an account, a dossier code) use :func:`hit` with their own key and limit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from flask import Flask, current_app, request
from limits import parse as _parse_limit
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from portal.errors import RateLimited


@functools.lru_cache(maxsize=128)
def parse(limit: str):
    """A limit string ("5 per 15 minutes") read once: the configured limits are few."""
    return _parse_limit(limit)


@dataclass
class PortalLimiter:
    limiter: FixedWindowRateLimiter
    prefix: str
    enabled: bool
    exempt: set = field(default_factory=set)  # blueprint names, or (name, method) pairs
    many_script: object = None  # hit_all's script, registered on first use with Redis


def init_rate_limits(app: Flask) -> PortalLimiter:
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    state = PortalLimiter(
        limiter=FixedWindowRateLimiter(storage),
        prefix=app.config["RATELIMIT_KEY_PREFIX"],
        enabled=bool(app.config.get("RATELIMIT_ENABLED", True)),
    )
    app.extensions["portal_limiter"] = state
    default = parse(app.config["RATELIMIT_DEFAULT"])

    @app.before_request
    def default_rate_limit():
        if not state.enabled or request.blueprint in state.exempt:
            return
        if state.exempt and (request.blueprint, request.method) in state.exempt:
            return
        if not state.limiter.hit(default, state.prefix, "default", request.remote_addr or "-"):
            raise RateLimited("too many requests; please wait and try again")

    return state


def exempt_blueprint(app: Flask, blueprint, methods: tuple[str, ...] = ()) -> None:
    """Take the routes of ``blueprint`` out of the default per-address limit: all of them,
    or only their ``methods`` (a form whose POST has a stricter limit of its own)."""
    exempt = app.extensions["portal_limiter"].exempt
    if methods:
        exempt.update((blueprint.name, method) for method in methods)
    else:
        exempt.add(blueprint.name)


def check(limit: str, *key_parts: str) -> None:
    """Raise RateLimited if ``limit`` is already exhausted for this key, without counting.

    :raises RateLimited: the limit is exhausted.
    """
    state: PortalLimiter = current_app.extensions["portal_limiter"]
    if state.enabled and not state.limiter.test(parse(limit), state.prefix, *key_parts):
        raise RateLimited("too many attempts; please wait and try again")


def hit(limit: str, *key_parts: str) -> None:
    """Count one attempt against ``limit`` (e.g. "5 per 15 minutes") for this key.

    :raises RateLimited: the limit is exhausted.
    """
    hit_all(limit, key_parts)


# The ``limits`` library's fixed-window increment (incr_expire.lua), for several keys in one
# call: same keys, same counters, same expiry rule; it stops at the first key over the limit.
_INCR_EXPIRE_MANY = """
local counts = {}
local amount = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, amount)
    if tonumber(current) == amount then
        redis.call("expire", key, ARGV[1])
    end
    counts[i] = current
    if tonumber(current) > limit then
        break
    end
end
return counts
"""


def hit_all(limit: str, *keys: tuple[str, ...]) -> None:
    """Count one attempt against ``limit`` for each key (a tuple of key parts), in order,
    stopping at the first one over it: an attempt refused for its address does not also use
    up the allowance of the code it named.

    On Redis the counters move in one script call, the same increment ``limits`` runs, on
    the same keys; elsewhere, one increment each through ``limits``.

    :raises RateLimited: a limit is exhausted.
    """
    state: PortalLimiter = current_app.extensions["portal_limiter"]
    if not state.enabled:
        return
    item = parse(limit)
    storage = state.limiter.storage
    names = [item.key_for(state.prefix, *parts) for parts in keys]
    script = _many_script(state, storage)
    if script is not None:
        prefixed = [storage.prefixed_key(name) for name in names]
        counts = script(keys=prefixed, args=[item.get_expiry(), 1, item.amount])
        over = any(int(count) > item.amount for count in counts)
    else:
        over = any(
            storage.incr(name, item.get_expiry()) > item.amount for name in names
        )  # stops at the first
    if over:
        raise RateLimited("too many attempts; please wait and try again")


def _many_script(state: PortalLimiter, storage):
    """The registered script on Redis storage (redis-py reloads it after NOSCRIPT), else None."""
    if state.many_script is None and hasattr(storage, "get_connection") and hasattr(storage, "prefixed_key"):
        state.many_script = storage.get_connection().register_script(_INCR_EXPIRE_MANY)
    return state.many_script
