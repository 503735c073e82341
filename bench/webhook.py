"""The payment-webhook target: the gateway calling ``POST /payments/webhooks/stripe``.

Before timing, ``seed`` writes filed dossiers that owe a fee, each with an open payment
(as if the citizen had opened the pay page), straight into the migrated database. The
load then sends, for each payment, the events Stripe sends for a card payment, in order,
every one valid, signed with the webhook secret and distinct (its own event id):

- ``payment_intent.created``: stored, nothing to apply;
- ``charge.succeeded``: stored, nothing to apply (the charge names the payment);
- ``payment_intent.succeeded``: stored and applied: the payment row locked, amount and
  currency checked, the state changed, the receipt numbered and written, an event in the
  dossier's history, an outbox delivery, and the receipt e-mail job queued (RQ on the
  production setup; run in-process after the commit on the embedded one, so there the
  request also draws the PDF and writes the e-mail to the outbox folder).

Every answer must be 200 with the expected ``result`` (``applied`` for the success), so a
refused signature or a repeat counts as unexpected, never as throughput.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import sqlalchemy as sa

from bench.dossiers import sqlalchemy_url
from bench.load import Request

PATH = "/payments/webhooks/stripe"
SECRET = "whsec_bench_" + secrets.token_hex(8)
AMOUNT = 200_000
TARGET = 0.3
EVENTS_PER_PAYMENT = 3


def portal_env(prefix: str) -> dict[str, str]:
    """What the portal needs to take callbacks (the gateway itself is never called)."""
    return {
        "STRIPE_SECRET_KEY": "sk_test_bench_never_used",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "PAYMENT_WEBHOOK_RATE_LIMIT": "100000000 per minute",
        "JOBS_QUEUE_PREFIX": prefix,
    }


def seed(database_url: str, count: int) -> list[tuple[int, str]]:
    """``count`` filed dossiers owing AMOUNT đồng (phí + lệ phí), each with an open payment.
    Returns [(payment id, gateway ref)]."""
    engine = sa.create_engine(sqlalchemy_url(database_url))
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())  # UTC, as the portal writes
    try:
        with engine.begin() as conn:
            first = conn.execute(sa.text("SELECT coalesce(max(id), 0) + 1 FROM dossiers")).scalar_one()
            first_payment = conn.execute(
                sa.text("SELECT coalesce(max(id), 0) + 1 FROM payments")
            ).scalar_one()
            dossiers, lines, payments = [], [], []
            for n in range(count):
                dossier_id, payment_id = first + n, first_payment + n
                dossiers.append(
                    {
                        "id": dossier_id,
                        "code": f"000.00.00.G15-991231-B{dossier_id:07d}",
                        "status": 6,
                        "procedure_code": "1.000000",
                        "agency_code": "000.00.00.G15",
                        "applicant_name": "Nguyễn Văn Bench",
                        "now": now,
                    }
                )
                lines.append(
                    {
                        "dossier_id": dossier_id,
                        "kind": "phi",
                        "description": "Phí",
                        "amount": AMOUNT // 4 * 3,
                        "now": now,
                    }
                )
                lines.append(
                    {
                        "dossier_id": dossier_id,
                        "kind": "le_phi",
                        "description": "Lệ phí",
                        "amount": AMOUNT // 4,
                        "now": now,
                    }
                )
                payments.append(
                    {
                        "id": payment_id,
                        "dossier_id": dossier_id,
                        "ref": f"pi_bench_{payment_id}_{secrets.token_hex(4)}",
                        "now": now,
                    }
                )
            conn.execute(
                sa.text(
                    "INSERT INTO dossiers (id, code, state, status, channel, procedure_code, agency_code, "
                    "form_data, applicant_name, created_at, updated_at) VALUES (:id, :code, 'filed', :status, 2, "
                    ":procedure_code, :agency_code, '{}', :applicant_name, :now, :now)"
                ),
                dossiers,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO fee_lines (dossier_id, kind, description, amount, currency, source, created_at) "
                    "VALUES (:dossier_id, :kind, :description, :amount, 'VND', 'catalog', :now)"
                ),
                lines,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO payments (id, dossier_id, amount, currency, state, gateway, gateway_ref, "
                    f"amount_refunded, created_at, updated_at) VALUES (:id, :dossier_id, {AMOUNT}, 'VND', "
                    "'created', 'stripe', :ref, 0, :now, :now)"
                ),
                payments,
            )
            if engine.dialect.name == "postgresql":
                for table in ("dossiers", "payments"):
                    conn.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    finally:
        engine.dispose()
    return [(p["id"], p["ref"]) for p in payments]


def _intent(payment_id: int, ref: str, status: str) -> dict:
    return {
        "id": ref,
        "object": "payment_intent",
        "amount": AMOUNT,
        "currency": "vnd",
        "status": status,
        "client_secret": f"{ref}_secret_bench",
        "metadata": {"payment_id": str(payment_id)},
        "last_payment_error": None,
    }


def _post(host: str, port: int, body: bytes) -> bytes:
    stamp = int(time.time())
    signature = hmac.new(SECRET.encode(), str(stamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n"
        f"Accept: */*; q=0.5, application/json\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Stripe-Signature: t={stamp},v1={signature}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii") + body


def requests_for(host: str, port: int, payments: list[tuple[int, str]]) -> list[Request]:
    """The signed events of ``payments``, in the order Stripe sends them (signed now: the
    portal accepts a timestamp up to 300 s old, far more than a run takes)."""
    out = []
    for payment_id, ref in payments:
        charge = {
            "id": "ch_" + ref[3:],
            "object": "charge",
            "amount": AMOUNT,
            "currency": "vnd",
            "status": "succeeded",
            "payment_intent": ref,
        }
        for kind, obj, result in (
            (
                "payment_intent.created",
                _intent(payment_id, ref, "requires_payment_method"),
                b'"result":"ignored"',
            ),
            ("charge.succeeded", charge, b'"result":"ignored"'),
            ("payment_intent.succeeded", _intent(payment_id, ref, "succeeded"), b'"result":"applied"'),
        ):
            body = json.dumps(
                {
                    "id": "evt_" + secrets.token_hex(12),
                    "object": "event",
                    "type": kind,
                    "created": int(time.time()),
                    "data": {"object": obj},
                },
                separators=(",", ":"),
            ).encode()
            out.append(Request(_post(host, port, body), status=200, marker=result))
    return out


def empty_queues(redis_url: str, prefix: str) -> None:
    """Drop the receipt e-mail jobs the run queued on Redis (no worker runs during it)."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(redis_url)
    for name in ("default", "deliveries", "mail"):
        Queue(prefix + name, connection=connection).empty()
