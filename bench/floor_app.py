"""The floor: the least that any implementation of the measured machine endpoints must do, on
this stack (Flask, psycopg, redis-py, gunicorn) and this machine, served like the portal.

It answers the very requests the portal's targets send, at the same paths, with nothing
but the input and output each of them cannot avoid:

- ``POST /api/v1/dossiers/lookup``: read the JSON body; one Redis script call counting the
  client address and the code (the rate limit); the portal's own lookup SELECT on psycopg
  (autocommit, prepared); compare the secret; a JSON answer.
- ``POST /payments/webhooks/stripe``: the HMAC of the body; parse it; one Redis INCR (the
  rate limit); one INSERT of the event into a table of its own and the COMMIT; a JSON answer.
- ``POST /api/v1/sync/dossier-events``: the HMAC of the body; parse it; one Redis INCR; in
  one transaction: lock the dossier row (SELECT ... FOR UPDATE), INSERT the event into a
  table of its own, UPDATE the dossier's ``updated_at``; COMMIT; a JSON answer.

No validation, no business rule, no history, no jobs, no session, no hooks: this is not a
portal. Its ratio to the bare endpoint is the ceiling any portal on this machine could
reach on these requests, so a target above the floor cannot be met here by any code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import psycopg
from flask import Flask, Response, request
from redis import Redis

from portal.dossiers.queries import _LOOKUP_PSYCOPG

app = Flask(__name__)

_DSN = os.environ.get("DATABASE_URL", "").replace("postgresql+psycopg://", "postgresql://")
_REDIS = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "bench:") + "floor:"
_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "").encode()
_SYNC_SECRET = os.environ.get("BENCH_SYNC_SECRET", "").encode()
_INCR_TWO = _REDIS.register_script(
    "local a = redis.call('incr', KEYS[1]) if a == 1 then redis.call('expire', KEYS[1], 900) end "
    "local b = redis.call('incr', KEYS[2]) if b == 1 then redis.call('expire', KEYS[2], 900) end "
    "return {a, b}"
)
TABLE = "bench_floor_events"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, source varchar(64) NOT NULL, "
    "external_id varchar(128) NOT NULL, kind varchar(64), body jsonb, UNIQUE (source, external_id))"
)
_connection: psycopg.Connection | None = None


def _db() -> psycopg.Connection:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(_DSN)
    return _connection


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")


def _count(key: str) -> None:
    name = _PREFIX + key
    if _REDIS.incr(name) == 1:
        _REDIS.expire(name, 60)


@app.get("/")
def ready():
    return _json({"status": "ok"})


@app.post("/api/v1/dossiers/lookup")
def lookup():
    body = request.get_json()
    code, secret = body["code"].strip(), body["secret"]
    _INCR_TWO(keys=[_PREFIX + "a:" + (request.remote_addr or "-"), _PREFIX + "c:" + code.upper()])
    connection = _db()
    connection.autocommit = True
    row = connection.execute(_LOOKUP_PSYCOPG, {"code": code}).fetchone()
    wanted = "".join(ch for ch in secret if ch.isdigit())
    if row is None or wanted not in (row[2], row[3]) and not (row[2] or "").endswith(wanted[-9:]):
        return _json({"status_code": 404}, 404)
    return _json(
        {
            "code": row[0],
            "status": row[1],
            "procedure_name": row[6],
            "agency_name": row[7],
            "received_at": row[4].isoformat() if row[4] else None,
            "due_at": row[5].isoformat() if row[5] else None,
            "timeliness": "on_time",
        }
    )


@app.post("/payments/webhooks/stripe")
def webhook():
    body = request.get_data()
    parts = dict(p.split("=", 1) for p in request.headers["Stripe-Signature"].split(","))
    expected = hmac.new(_WEBHOOK_SECRET, f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts["v1"]):
        return _json({"status_code": 401}, 401)
    event = json.loads(body)
    _count("webhook")
    connection = _db()
    connection.autocommit = False
    with connection.transaction():
        connection.execute(
            f"INSERT INTO {TABLE} (source, external_id, kind, body) VALUES ('stripe', %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (event["id"], event["type"], body.decode()),
        )
    result = "applied" if event["type"] == "payment_intent.succeeded" else "ignored"
    return _json({"received": True, "result": result})


@app.post("/api/v1/sync/dossier-events")
def sync_event():
    body = request.get_data()
    stamp = request.headers.get("X-Portal-Timestamp", "")
    expected = "v1=" + hmac.new(_SYNC_SECRET, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Portal-Signature", "")):
        return _json({"status_code": 401}, 401)
    event = json.loads(body)["events"][0]
    _count("sync")
    connection = _db()
    connection.autocommit = False
    with connection.transaction():
        found = connection.execute(
            "SELECT id FROM dossiers WHERE code = %s FOR UPDATE", (event["dossier_code"],)
        ).fetchone()
        connection.execute(
            f"INSERT INTO {TABLE} (source, external_id, kind, body) VALUES ('sync', %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (event["event_id"], str(event["status"]), body.decode()),
        )
        if found:
            connection.execute("UPDATE dossiers SET updated_at = now() WHERE id = %s", (found[0],))
    return _json({"results": [{"event_id": event["event_id"], "result": "applied"}]})
