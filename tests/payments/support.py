"""Test data for payments: a level-4 service with phí and lệ phí (through the real
importer), filed dossiers (through the dossiers service), payments started through the
payments service, and callbacks signed with the webhook secret.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from functools import cache

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.payments.clients import sign_payload
from portal.payments.models import Payment, PaymentEvent, Receipt
from services_catalog.generate import AGENCIES_FILE, PROCEDURES_FILE
from services_catalog.importer import import_records
from services_catalog.models import OnlineService, Procedure
from services_catalog.reading import read_json_file
from tests.dossiers.support import DEFAULT_DOCUMENTS, make_filed, make_user, procedure_record
from tests.payments.conftest import WEBHOOK_SECRET

FEE_PHI = 150_000
FEE_LE_PHI = 50_000
TOTAL = FEE_PHI + FEE_LE_PHI
VISA = "pm_card_visa"
DECLINED = "pm_card_chargeCustomerFail"  # localstripe declines the charge


def make_paid_service(
    *, code: str = "9.100001", phi: int = FEE_PHI, le_phi: int = FEE_LE_PHI
) -> tuple[int, dict]:
    """Import a procedure whose online channel charges phí and lệ phí in đồng (level 4,
    paid online) and return (its online service id, {document name: key})."""
    record = procedure_record(
        code=code, name="Cấp phiếu lý lịch tư pháp", processing_days=10, documents=DEFAULT_DOCUMENTS
    )
    record["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0]["PHILEPHI"] = [
        {"SOTIEN": phi, "DONVI": "Đồng", "MOTA": "Phí: cung cấp thông tin lý lịch tư pháp"},
        {"SOTIEN": le_phi, "DONVI": "Đồng", "MOTA": "Lệ phí: cấp phiếu lý lịch tư pháp"},
    ]
    import_records([record], full=False, agencies=json.loads(AGENCIES_FILE.read_text(encoding="utf-8")))
    db.session.commit()
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == code))
    online = db.session.scalar(sa.select(OnlineService).where(OnlineService.procedure_id == procedure.id))
    assert online.level == 4 and online.pays_online == bool(phi + le_phi)
    return online.id, {d["name"]: d["key"] for d in procedure.documents}


@cache
def _bundled() -> dict[str, dict]:
    return {record["MATTHC"]: record for record in read_json_file(PROCEDURES_FILE)}


def bundled_record(code: str) -> dict:
    """A real procedure of the bundled catalog (services_catalog/data), in the national
    database's shape; a copy the caller may change."""
    return copy.deepcopy(_bundled()[code])


def make_dossier(user=None, *, service=None) -> tuple[object, dict]:
    """(user, filed dossier dict) of a service paid online. Needs the ``jobs`` fixture."""
    if user is None:
        from portal.accounts.models import User

        user = db.session.scalar(sa.select(User).where(User.email == "binh@example.vn")) or make_user()
    service_id, keys = service or make_paid_service()
    return user, make_filed(user, service_id, keys)


def start(user, dossier_id) -> dict:
    from portal.payments import service

    return service.start_payment(user, dossier_id)


def pay_at_gateway(gateway, payment: dict, method: str = VISA):
    """What the browser and the gateway do once the card is entered: confirm the intent."""
    ref = payment_row(payment["id"]).gateway_ref
    return gateway.confirm(ref, payment_method=method, idempotency_key=f"test-{payment['id']}-{method}")


def payment_row(payment_id: int) -> Payment:
    db.session.expire_all()
    return db.session.get(Payment, payment_id)


def receipts_of(payment_id: int) -> list[Receipt]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Receipt).where(Receipt.payment_id == payment_id)))


def events(**where) -> list[PaymentEvent]:
    db.session.expire_all()
    query = sa.select(PaymentEvent).order_by(PaymentEvent.id)
    for name, value in where.items():
        query = query.where(getattr(PaymentEvent, name) == value)
    return list(db.session.scalars(query))


def wait_for(condition, timeout: float = 20.0, what: str = "the condition"):
    """Poll until ``condition()`` is truthy (localstripe calls back about a second late)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.rollback()
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_paid(jobs, payment_id: int, what: str = "the payment's effects") -> None:
    """Wait until a payment is paid and its effects (receipt, history, delivery) are applied,
    running queued jobs meanwhile (RQ on the production run; inline they already ran)."""

    def done():
        jobs()
        row = payment_row(payment_id)
        return row.state == "succeeded" and row.effects_done_at is not None

    wait_for(done, what=what)


def event_body(
    event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None
) -> bytes:
    """A Stripe event around an object read from localstripe (the test builds the events
    localstripe does not send: refunds, cancellations, out-of-order replays)."""
    return json.dumps(
        {
            "id": event_id or f"evt_test_{secrets.token_hex(8)}",
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "api_version": "2017-08-15",
            "data": {"object": obj},
        }
    ).encode()


def post_signed(
    client, body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, header=None
):
    signature = header if header is not None else sign_payload(body, secret, timestamp)
    return client.post(
        "/payments/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def intent_object(localstripe_url: str, ref: str) -> dict:
    """The PaymentIntent as localstripe holds it now, in the API's JSON."""
    import requests

    from tests.payments.conftest import SECRET_KEY

    response = requests.get(
        f"{localstripe_url}/v1/payment_intents/{ref}",
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()


def stripe_get(localstripe_url: str, path: str) -> dict:
    import requests

    from tests.payments.conftest import SECRET_KEY

    response = requests.get(
        f"{localstripe_url}{path}", headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=5
    )
    response.raise_for_status()
    return response.json()


def now():
    return utcnow()
