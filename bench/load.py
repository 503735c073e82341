"""A closed-loop HTTP load generator: worker processes, raw sockets, one connection a request.

Each worker process sends requests back to back (a new connection each time, as the sync
gunicorn workers close after every response) and records the latency of every request
from connect to the last byte. A target is a list of GET paths, or of prepared
:class:`Request` objects (any method, headers and body, sent from a given local address,
with the answer they must get). Only complete responses with the expected answer (any 2xx
for a plain path) count as throughput; anything else and socket errors are counted
separately so a failing endpoint is visible, never silently fast.

Targets are interleaved in short time windows (baseline, search, page, page, search,
baseline, ...), all workers switching together on the clock. Whatever else runs on the
machine then weighs on every target alike, and each cycle gives its own ratio to the
baseline. Throughput in a window is counted per worker as requests over the time that
worker spent on them (Little's law for a closed loop), so a slow request that overruns
its window is charged to its own target, not to the next one.

Raw sockets keep the client's own CPU cost per request small and the same for every
target: on a 2-core machine the client shares the CPU with the server it measures.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import socket
import struct
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

# Close with RST once the whole response is read: neither side keeps a TIME_WAIT socket, so
# tens of thousands of short connections do not exhaust the loopback's ephemeral ports.
_LINGER_RESET = struct.pack("ii", 1, 0)
_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Request:
    """One prepared request and the answer it must get.

    ``source``: the local address to connect from (a distinct client on the loopback, for
    limits kept per client address). ``status``: the expected status, None for any 2xx.
    ``marker``: bytes the body must contain, so a right status with the wrong page fails.
    """

    data: bytes
    source: str | None = None
    status: int | None = None
    marker: bytes | None = None

    def verdict(self, status: int, body: bytes) -> str | None:
        """None when the answer is the expected one, else what was wrong with it."""
        if self.status is None:
            return None if 200 <= status < 300 else f"HTTP {status}"
        if status != self.status:
            return f"HTTP {status}, expected {self.status}"
        if self.marker is not None and self.marker not in body:
            return f"HTTP {status} without {self.marker.decode(errors='replace')}"
        return None


@dataclass
class Target:
    """``paths`` are sent as plain GETs; ``requests``, when given, are sent instead."""

    name: str
    port: int
    paths: list[str]
    requests: list[Request] | None = None

    def prepared(self, host: str) -> list[Request]:
        if self.requests is not None:
            return self.requests
        return [Request(build_request(host, self.port, p)) for p in self.paths]


@dataclass
class LoadResult:
    """What one target saw. ``latencies_ms`` holds complete, expected answers only."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    unexpected: Counter = field(default_factory=Counter)  # answered, but not as expected: why
    busy_s: float = 0.0  # summed over workers: time spent on this target's requests
    workers: int = 0
    cycle_rps: list[float] = field(default_factory=list)  # one figure per measured cycle
    server_cpu_s: float = 0.0  # CPU the servers used during this target's windows
    # The most requests one worker took from the target's list (warm-up included); more than
    # its share (len / workers) means some prepared requests were sent twice.
    most_sent_by_a_worker: int = 0

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def unexpected_count(self) -> int:
        return sum(self.unexpected.values())

    @property
    def rps(self) -> float:
        # Each worker's rate is its requests over its busy time; the workers run side by side.
        return self.ok / self.busy_s * self.workers if self.busy_s > 0 else 0.0

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        return self.server_cpu_s * 1000 / self.answered if self.answered and self.server_cpu_s else None

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def summary(self) -> dict:
        return {
            "requests_per_second": round(self.rps, 1),
            "ok": self.ok,
            "non_2xx": self.non_2xx,
            "unexpected": self.unexpected_count,
            "errors": self.error_count,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "unexpected_kinds": dict(self.unexpected),
            "error_kinds": dict(self.errors),
            "p50_ms": _round(self.percentile(0.50)),
            "p90_ms": _round(self.percentile(0.90)),
            "p99_ms": _round(self.percentile(0.99)),
            "max_ms": _round(max(self.latencies_ms) if self.latencies_ms else None),
            "server_cpu_ms_per_request": _round(self.server_cpu_ms_per_request),
            "cycle_rps": [round(x, 1) for x in self.cycle_rps],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def build_request(host: str, port: int, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: opendvc-bench\r\n"
        "Accept: */*\r\nAccept-Language: vi\r\nConnection: close\r\n\r\n"
    ).encode("ascii")


def build_post(host: str, port: int, path: str, form: dict[str, str], cookie: str = "") -> bytes:
    """A form submission as a browser sends it (urlencoded body, the session cookie)."""
    body = urlencode(form).encode("ascii")
    cookie_line = f"Cookie: {cookie}\r\n" if cookie else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: opendvc-bench\r\n"
        f"Accept: text/html\r\nAccept-Language: vi\r\nOrigin: http://{host}:{port}\r\n"
        f"Referer: http://{host}:{port}{path}\r\n{cookie_line}"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii") + body


def build_json_post(host: str, port: int, path: str, body: dict) -> bytes:
    """A JSON POST as an app sends it: no cookie, no CSRF token."""
    data = json.dumps(body, separators=(",", ":")).encode("utf-8")
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: opendvc-bench\r\n"
        "Accept: application/json\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii") + data


def fetch(host: str, port: int, request: bytes, source: str | None = None) -> tuple[int, bytes]:
    """Send one request; return (status, body). Status 0 means a malformed or cut response.

    :raises OSError: the connection failed.
    """
    status, _, body = fetch_with_head(host, port, request, source)
    return status, body


def fetch_with_head(
    host: str, port: int, request: bytes, source: str | None = None
) -> tuple[int, bytes, bytes]:
    """Like :func:`fetch`, also returning the response head (status line and headers).

    :raises OSError: the connection failed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(_TIMEOUT)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        if source is not None:
            sock.bind((source, 0))
        sock.connect((host, port))
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    return _parse(b"".join(chunks))


def _parse(data: bytes) -> tuple[int, bytes, bytes]:
    head_end = data.find(b"\r\n\r\n")
    if not data.startswith(b"HTTP/1.") or head_end < 0:
        return 0, b"", b""
    try:
        status = int(data[9:12])
    except ValueError:
        return 0, b"", b""
    body = data[head_end + 4 :]
    head = data[:head_end].lower()
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : line_end if line_end >= 0 else None].strip())
        if len(body) != length:
            return 0, b"", b""  # cut short: not a response a browser could use
    return status, data[:head_end], body


def schedule(count: int, window_index: int) -> int:
    """The target of a window: cycles go forward, then backward (0 1 2 2 1 0 0 1 2 ...)."""
    cycle, position = divmod(window_index, count)
    return position if cycle % 2 == 0 else count - 1 - position


def _one_request(host: str, port: int, request: Request) -> tuple[int, str | None, str | None]:
    """(status, socket error or None, what was unexpected in the answer or None)."""
    try:
        status, body = fetch(host, port, request.data, request.source)
    except OSError as exc:
        return -1, type(exc).__name__, None
    if status == 0:
        return 0, "malformed or cut response", None
    return status, None, request.verdict(status, body)


def _quiet_child() -> None:
    # Ctrl-C is the parent's to handle: it stops the workers (SIGTERM) and cleans up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interleaved_worker(host, targets, offset, start_at, window, windows, first_measured, results) -> None:
    _quiet_child()
    count = len(targets)
    requests = [prepared for _, prepared in targets]
    start = [int(offset * len(r)) for r in requests]
    index = list(start)
    latencies = [array("d") for _ in targets]
    statuses = [Counter() for _ in targets]
    errors = [Counter() for _ in targets]
    unexpected = [Counter() for _ in targets]
    ok = [0] * windows
    busy = [0.0] * windows
    while time.perf_counter() < start_at:
        time.sleep(0.0005)
    while True:
        began = time.perf_counter()
        k = int((began - start_at) // window)
        if k >= windows:
            break
        t = schedule(count, k)
        reqs = requests[t]
        request = reqs[index[t] % len(reqs)]
        index[t] += 1
        status, error, wrong = _one_request(host, targets[t][0], request)
        done = time.perf_counter()
        busy[k] += done - began
        if k < first_measured:
            continue
        if error:
            errors[t][error] += 1
            continue
        statuses[t][status] += 1
        if wrong:
            unexpected[t][wrong] += 1
        else:
            ok[k] += 1
            latencies[t].append((done - began) * 1000.0)
    sent = [i - s for i, s in zip(index, start, strict=True)]
    results.send(
        (
            [a.tobytes() for a in latencies],
            [dict(s) for s in statuses],
            [dict(e) for e in errors],
            [dict(u) for u in unexpected],
            ok,
            busy,
            sent,
        )
    )
    results.close()


def run_interleaved(
    host: str,
    targets: list[Target],
    *,
    concurrency: int,
    seconds_per_target: float,
    window: float = 0.5,
    warmup_cycles: int = 1,
    cpu_probe: Callable[[], float] | None = None,
) -> dict[str, LoadResult]:
    """Load ``targets`` in turn, window by window, with ``concurrency`` worker processes.

    Each target gets ``seconds_per_target`` of measured windows, after ``warmup_cycles``
    unmeasured cycles. ``cpu_probe`` returns the CPU seconds the servers have used so far;
    it is read at every window boundary to charge CPU to the window's target.
    """
    count = len(targets)
    cycles = max(1, round(seconds_per_target / window))
    windows = (warmup_cycles + cycles) * count
    first_measured = warmup_cycles * count
    ctx = multiprocessing.get_context("fork")
    spec = [(t.port, t.prepared(host)) for t in targets]
    start_at = time.perf_counter() + 0.3  # every worker forked and waiting before the start
    workers = []
    try:
        for n in range(concurrency):
            receiver, sender = ctx.Pipe(duplex=False)
            # Workers start at different places in each list, so they ask for different URLs.
            proc = ctx.Process(
                target=_interleaved_worker,
                args=(host, spec, n / concurrency, start_at, window, windows, first_measured, sender),
                daemon=True,
            )
            proc.start()
            sender.close()
            workers.append((proc, receiver))
        window_cpu = _probe_windows(cpu_probe, start_at, window, windows) if cpu_probe else [0.0] * windows
        results = {t.name: LoadResult() for t in targets}
        window_ok = [0] * windows
        window_busy = [0.0] * windows
        for _, receiver in workers:
            lat, st, er, un, ok, busy, sent = receiver.recv()
            for t, target in enumerate(targets):
                result = results[target.name]
                values = array("d")
                values.frombytes(lat[t])
                result.latencies_ms.extend(values)
                result.statuses.update(st[t])
                result.errors.update(er[t])
                result.unexpected.update(un[t])
                result.most_sent_by_a_worker = max(result.most_sent_by_a_worker, sent[t])
            for k in range(first_measured, windows):
                results[targets[schedule(count, k)].name].busy_s += busy[k]
                window_ok[k] += ok[k]
                window_busy[k] += busy[k]
        # A window's rate: its requests over the worker-seconds spent on them, times the
        # workers. Time a worker spends finishing the previous window's request is charged
        # to that window, so neither target pays for the other's slow requests.
        window_rate = [
            window_ok[k] / window_busy[k] * concurrency if window_busy[k] > 0 else 0.0 for k in range(windows)
        ]
        for t, target in enumerate(targets):
            result = results[target.name]
            result.workers = concurrency
            result.cycle_rps = [
                window_rate[k] for k in range(first_measured, windows) if schedule(count, k) == t
            ]
            result.server_cpu_s = sum(
                window_cpu[k] for k in range(first_measured, windows) if schedule(count, k) == t
            )
        for proc, _ in workers:
            proc.join(5)
    finally:
        for proc, _ in workers:
            if proc.is_alive():
                proc.terminate()
                proc.join(2)
    return results


def _probe_windows(
    cpu_probe: Callable[[], float], start_at: float, window: float, windows: int
) -> list[float]:
    readings = []
    for k in range(windows + 1):
        delay = start_at + k * window - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        readings.append(cpu_probe())
    return [b - a for a, b in zip(readings, readings[1:], strict=False)]


def _once_worker(host, port, requests, results) -> None:
    _quiet_child()
    latencies = array("d")
    statuses: Counter = Counter()
    errors: Counter = Counter()
    unexpected: Counter = Counter()
    for request in requests:
        began = time.perf_counter()
        status, error, wrong = _one_request(host, port, request)
        if error:
            errors[error] += 1
            continue
        statuses[status] += 1
        if wrong:
            unexpected[wrong] += 1
        else:
            latencies.append((time.perf_counter() - began) * 1000.0)
    results.send((latencies.tobytes(), dict(statuses), dict(errors), dict(unexpected)))
    results.close()


def run_once(host: str, port: int, paths: list[str] | list[Request], *, concurrency: int) -> LoadResult:
    """Send every request (or GET every path) once, split among ``concurrency`` workers.

    This primes the caches as steady traffic would and shows, before anything is timed,
    which requests fail.
    """
    ctx = multiprocessing.get_context("fork")
    requests = [p if isinstance(p, Request) else Request(build_request(host, port, p)) for p in paths]
    result = LoadResult()
    workers = []
    try:
        for n in range(concurrency):
            share = requests[n::concurrency]
            if not share:
                continue
            receiver, sender = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_once_worker, args=(host, port, share, sender), daemon=True)
            proc.start()
            sender.close()
            workers.append((proc, receiver))
        for proc, receiver in workers:
            raw, st, er, un = receiver.recv()
            values = array("d")
            values.frombytes(raw)
            result.latencies_ms.extend(values)
            result.statuses.update(st)
            result.errors.update(er)
            result.unexpected.update(un)
            proc.join(5)
    finally:
        for proc, _ in workers:
            if proc.is_alive():
                proc.terminate()
                proc.join(2)
    return result
