"""The dossier-lookup target: citizens who open the lookup form once, then post lookups.

Each simulated visitor does what a browser does on ``/tra-cuu-ho-so``: GET the form (which
starts a server-side session and carries its CSRF token in a hidden field), then POST a
few lookups with that session cookie and token. Visitors come from their own loopback
addresses (127.64.0.0 up): the portal limits lookups per client address (10 per 15
minutes) and per code, and a visitor posts fewer than that, so the limiter runs on every
request, as it does in production, without ever refusing one.

The form GETs happen before the timed windows (``open_visitors``): the windows measure
lookups only, and the form's own latency is reported beside them. The prepared POSTs are
plain :class:`bench.load.Request` objects, so the load generator sends them like any other
target and checks every answer: the result page (200 with the result section) for the
right code and phone or ID number, "no dossier matches" (404) for a wrong one.
"""

from __future__ import annotations

import math
import multiprocessing
import re
import time
from dataclasses import dataclass

from bench.dossiers import Lookup
from bench.load import (
    LoadResult,
    Request,
    _quiet_child,
    build_json_post,
    build_post,
    build_request,
    fetch_with_head,
)

LOOKUP_PATH = "/tra-cuu-ho-so"
RESULT_MARKER = b'class="lookup-result"'
API_PATH = "/api/v1/dossiers/lookup"
API_MARKER = b'"timeliness":'
# The portal's limit is 10 lookups per 15 minutes per client address; a visitor stays below.
LOOKUPS_PER_VISITOR = 5
_FIRST_CLIENT = (127 << 24) | (64 << 16)  # 127.64.0.0
_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_SET_COOKIE = re.compile(rb"^set-cookie:\s*([^=;\s]+)=([^;\r\n]*)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Visitor:
    """A browser that has opened the form: its address, its cookies, the form's CSRF token."""

    address: str
    cookie: str
    token: str

    def cookie_values(self) -> list[str]:
        return [part.split("=", 1)[1] for part in self.cookie.split("; ") if "=" in part]


def client_address(number: int) -> str:
    value = _FIRST_CLIENT + number
    if value >= (128 << 24):
        raise ValueError("out of loopback addresses")
    return ".".join(str(value >> shift & 255) for shift in (24, 16, 8, 0))


def visitors_needed(lookups: int, per_visitor: int = LOOKUPS_PER_VISITOR) -> int:
    return math.ceil(lookups / per_visitor)


def open_visitors(
    host: str, port: int, first: int, count: int, *, concurrency: int
) -> tuple[list[Visitor], LoadResult]:
    """GET the form as ``count`` new visitors (client numbers ``first``...), in parallel.

    Returns the visitors that got a session and a token, in client-number order, and the
    form requests' own figures (non-2xx and pages without a token are counted as unexpected).
    """
    ctx = multiprocessing.get_context("fork")
    numbers = list(range(first, first + count))
    workers = []
    result = LoadResult()
    visitors: dict[int, Visitor] = {}
    try:
        for n in range(concurrency):
            share = numbers[n::concurrency]
            if not share:
                continue
            receiver, sender = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_open_worker, args=(host, port, share, sender), daemon=True)
            proc.start()
            sender.close()
            workers.append((proc, receiver))
        for proc, receiver in workers:
            opened, latencies, statuses, errors, unexpected = receiver.recv()
            visitors.update(opened)
            result.latencies_ms.extend(latencies)
            result.statuses.update(statuses)
            result.errors.update(errors)
            result.unexpected.update(unexpected)
            proc.join(5)
    finally:
        for proc, _ in workers:
            if proc.is_alive():
                proc.terminate()
                proc.join(2)
    return [visitors[n] for n in sorted(visitors)], result


def _open_worker(host, port, numbers, results) -> None:
    _quiet_child()
    request = build_request(host, port, LOOKUP_PATH)
    opened, latencies = {}, []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    unexpected: dict[str, int] = {}
    for number in numbers:
        address = client_address(number)
        began = time.perf_counter()
        try:
            status, head, body = fetch_with_head(host, port, request, address)
        except OSError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            continue
        elapsed = (time.perf_counter() - began) * 1000.0
        statuses[status] = statuses.get(status, 0) + 1
        visitor = _visitor(address, status, head, body)
        if visitor is None:
            why = f"HTTP {status}" if status != 200 else "no session cookie or CSRF token"
            unexpected[why] = unexpected.get(why, 0) + 1
            continue
        opened[number] = visitor
        latencies.append(elapsed)
    results.send((opened, latencies, statuses, errors, unexpected))
    results.close()


def _visitor(address: str, status: int, head: bytes, body: bytes) -> Visitor | None:
    if status != 200:
        return None
    cookies = [f"{name.decode()}={value.decode()}" for name, value in _SET_COOKIE.findall(head)]
    token = _CSRF.search(body)
    if not cookies or token is None:
        return None
    return Visitor(address, "; ".join(cookies), (token.group(1) or token.group(2)).decode())


def lookup_requests(
    host: str,
    port: int,
    visitors: list[Visitor],
    lookups: list[Lookup],
    per_visitor: int = LOOKUPS_PER_VISITOR,
) -> list[Request]:
    """Each visitor's next ``per_visitor`` lookups, one after the other, as its browser posts them."""
    requests = []
    for n, lookup in enumerate(lookups[: len(visitors) * per_visitor]):
        visitor = visitors[n // per_visitor]
        form = {"csrf_token": visitor.token, "code": lookup.code, "secret": lookup.secret}
        requests.append(
            Request(
                build_post(host, port, LOOKUP_PATH, form, visitor.cookie),
                source=visitor.address,
                status=200 if lookup.found else 404,
                marker=RESULT_MARKER if lookup.found else None,
            )
        )
    return requests


def api_requests(
    host: str, port: int, first_client: int, lookups: list[Lookup], per_address: int = LOOKUPS_PER_VISITOR
) -> list[Request]:
    """The same lookups through the JSON API (an app: no form, no session), ``per_address``
    from each loopback address from client number ``first_client`` on, under the limits."""
    requests = []
    for n, lookup in enumerate(lookups):
        body = {"code": lookup.code, "secret": lookup.secret}
        requests.append(
            Request(
                build_json_post(host, port, API_PATH, body),
                source=client_address(first_client + n // per_address),
                status=200 if lookup.found else 404,
                marker=API_MARKER if lookup.found else None,
            )
        )
    return requests
