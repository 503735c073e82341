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
from typing import Any, Callable

from flask import Flask, current_app

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


def init_cache(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        backend = RedisBackend(app.extensions["redis"], app.config["CACHE_KEY_PREFIX"])
    else:
        backend = FileBackend(app.config["CACHE_DIR"])
    app.extensions["portal_cache"] = backend


def _backend():
    return current_app.extensions["portal_cache"]


def cached(namespace: str, key: str, compute: Callable[[], Any], ttl: int | None = None) -> Any:
    """Return the cached value for ``key`` in ``namespace``, computing and storing it once.

    ``compute`` must return JSON-serialisable plain data. A cache that cannot be reached
    is logged and bypassed: a cache outage slows the portal down, it does not break it.
    """
    backend = _backend()
    ttl = ttl or current_app.config["CACHE_TTL"]
    try:
        full_key = f"{namespace}:{backend.generation(namespace)}:{key}"
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


def invalidate(namespace: str) -> None:
    """Make every entry of ``namespace`` stale for every process sharing the cache."""
    _backend().bump(namespace)
