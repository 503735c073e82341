"""A small read-through cache with namespaces that can be invalidated as a whole.

Redis when REDIS_URL is set (production, shared by every web process); otherwise files in
the instance folder, which every local process (the web server, the CLI that imports the
catalog) shares, so an import invalidates pages served by a running ``make run`` too.

A namespace's keys carry its generation number; ``invalidate(ns)`` bumps the number, so
old entries are never read again and expire on their own.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request

log = logging.getLogger(__name__)

_MISSING = object()


class RedisBackend:
    def __init__(self, client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def get(self, key: str):
        raw = self.client.get(self.prefix + key)
        return _MISSING if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int) -> None:
        self.client.set(self.prefix + key, json.dumps(value, ensure_ascii=False), ex=ttl)

    def generation(self, namespace: str) -> int:
        return int(self.client.get(f"{self.prefix}gen:{namespace}") or 0)

    def bump(self, namespace: str) -> None:
        self.client.incr(f"{self.prefix}gen:{namespace}")


class FileBackend:
    def __init__(self, directory: str) -> None:
        from cachelib import FileSystemCache

        self.cache = FileSystemCache(directory, threshold=20000, mode=0o600)

    def get(self, key: str):
        value = self.cache.get(key)
        return _MISSING if value is None else value

    def set(self, key: str, value: Any, ttl: int) -> None:
        self.cache.set(key, value, timeout=ttl)

    def generation(self, namespace: str) -> int:
        return int(self.cache.get(f"gen:{namespace}") or 0)

    def bump(self, namespace: str) -> None:
        self.cache.set(f"gen:{namespace}", self.generation(namespace) + 1, timeout=0)


class LocalLayer:
    """Per-process memory in front of the shared backend.

    Generations are remembered for ``GENERATION_SECONDS`` (an import elsewhere reaches this
    process within that time; one in this process at once). Text values are immutable and
    keyed by generation, so they are kept until pushed out by newer ones (LRU).
    """

    GENERATION_SECONDS = 1.0
    MAX_TEXTS = 4096

    def __init__(self) -> None:
        self.generations: dict[str, tuple[float, int]] = {}
        self.texts: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()

    def generation(self, backend, namespace: str) -> int:
        now = time.monotonic()
        known = self.generations.get(namespace)
        if known and known[0] > now:
            return known[1]
        value = backend.generation(namespace)
        self.generations[namespace] = (now + self.GENERATION_SECONDS, value)
        return value

    def forget(self, namespace: str) -> None:
        self.generations.pop(namespace, None)

    def get_text(self, key: str) -> str | None:
        with self.lock:
            value = self.texts.get(key)
            if value is not None:
                self.texts.move_to_end(key)
            return value

    def put_text(self, key: str, value: str) -> None:
        with self.lock:
            self.texts[key] = value
            while len(self.texts) > self.MAX_TEXTS:
                self.texts.popitem(last=False)


def init_cache(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        backend = RedisBackend(app.extensions["redis"], app.config["CACHE_KEY_PREFIX"])
    else:
        backend = FileBackend(app.config["CACHE_DIR"])
    app.extensions["portal_cache"] = backend
    app.extensions["portal_cache_local"] = LocalLayer()


def _backend():
    return current_app.extensions["portal_cache"]


def _local() -> LocalLayer:
    return current_app.extensions["portal_cache_local"]


def cached(namespace: str, key: str, compute: Callable[[], Any], ttl: int | None = None) -> Any:
    """Return the cached value for ``key`` in ``namespace``, computing and storing it once.

    ``compute`` must return JSON-serialisable plain data. A cache that cannot be reached
    is logged and bypassed: a cache outage slows the portal down, it does not break it.
    """
    backend = _backend()
    ttl = ttl or current_app.config["CACHE_TTL"]
    try:
        full_key = f"{namespace}:{_local().generation(backend, namespace)}:{key}"
        value = backend.get(full_key)
    except Exception:  # noqa: BLE001
        log.warning("cache unavailable; computing directly", exc_info=True)
        return compute()
    if value is not _MISSING:
        return value
    value = compute()
    try:
        backend.set(full_key, value, ttl)
    except Exception:  # noqa: BLE001
        log.warning("cache write failed", exc_info=True)
    return value


def cached_text(namespace: str, key: str, compute: Callable[[], str], ttl: int | None = None) -> str:
    """Like :func:`cached` for finished text (a JSON body, an HTML fragment).

    Text is immutable, so this process keeps it in memory too: a hit costs no round trip,
    no decoding and no re-encoding.
    """
    backend = _backend()
    local = _local()
    try:
        full_key = f"{namespace}:{local.generation(backend, namespace)}:{key}"
    except Exception:  # noqa: BLE001
        log.warning("cache unavailable; computing directly", exc_info=True)
        return compute()
    text = local.get_text(full_key)
    if text is not None:
        return text
    text = cached(namespace, "text:" + key, compute, ttl)
    local.put_text(full_key, text)
    return text


def anonymous_page(namespace: str, key: str, render: Callable[[], str]) -> str:
    """A whole page that is the same for every visitor who is not signed in.

    Served from :func:`cached_text` (per language) when the request carries no session
    cookie and no query arguments but ``lang``: then nothing in the page can differ between
    visitors (no account links, no messages, no form tokens, no echoed arguments). Any
    other request renders the page for itself.
    """
    if request.method not in ("GET", "HEAD") or request.cookies.get(
        current_app.config["SESSION_COOKIE_NAME"]
    ):
        return render()
    if any(name != "lang" for name in request.args):
        return render()
    return cached_text(namespace, f"page:{g.lang}:{key}", render)


def invalidate(namespace: str) -> None:
    """Make every entry of ``namespace`` stale for every process sharing the cache."""
    _backend().bump(namespace)
    _local().forget(namespace)
