"""A partner's one-stop system on loopback: a real HTTP server in a thread that checks the
portal's signatures, fails the first N deliveries, can hold one without answering, and
records what it received and what it accepted."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from portal.sync import signing


class PartnerServer:
    def __init__(self, code: str, secret: str, *, fail_first: int = 0, status: int = 503) -> None:
        self.code, self.secret = code, secret
        self.fail_first, self.fail_status = fail_first, status
        self.received: list[dict] = []  # every request: delivery id, signature ok, body
        self.accepted: list[str] = []  # delivery ids answered 2xx
        self.hold_first = False  # keep the first request waiting (a worker dies meanwhile)
        self.held = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server.handle(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/partner-api"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = handler.headers
        candidates = signing.parse_signatures(headers.get(signing.HEADER_SIGNATURE))
        timestamp = headers.get(signing.HEADER_TIMESTAMP, "")
        record = {
            "path": handler.path,
            "delivery": headers.get(signing.HEADER_DELIVERY),
            "partner": headers.get(signing.HEADER_PARTNER),
            "signed": signing.timestamp_fresh(timestamp)
            and signing.matches(candidates, [self.secret], timestamp, body),
            "body": json.loads(body) if body else None,
        }
        with self._lock:
            self.received.append(record)
            number = len(self.received)
        if self.hold_first and number == 1:
            self.held.set()
            self.release.wait(60)
            return  # the connection closes with no answer
        if self.delay:
            time.sleep(self.delay)
        if number <= self.fail_first or not record["signed"]:
            handler.send_response(self.fail_status if record["signed"] else 401)
            handler.end_headers()
            return
        with self._lock:
            self.accepted.append(record["delivery"])
        handler.send_response(202)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"ok": true}')

    def __enter__(self) -> PartnerServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
