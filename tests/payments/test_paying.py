"""Paying a dossier's fees against localstripe: success, decline, 3-D Secure, and the one
set of effects (receipt, dossier history, partner delivery, e-mail) whatever arrives when.

localstripe calls the live portal back with signed webhooks (payment_intent.succeeded,
payment_intent.payment_failed), about a second after the event; the tests wait for them.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.dossiers.models import Delivery, DossierEvent
from portal.extensions import db
from portal.payments import fees, service
from portal.payments.models import FeeLine, Payment
from tests.payments.support import (
    DECLINED,
    FEE_LE_PHI,
    FEE_PHI,
    TOTAL,
    events,
    make_dossier,
    pay_at_gateway,
    payment_row,
    receipts_of,
    start,
    wait_for,
    wait_paid,
)


def test_filing_a_paid_service_freezes_its_phi_and_le_phi_on_the_dossier(app, jobs):
    _, dossier = make_dossier()
    lines = db.session.scalars(sa.select(FeeLine).where(FeeLine.dossier_id == dossier["id"])).all()
    assert sorted((line.kind, line.amount) for line in lines) == [("le_phi", FEE_LE_PHI), ("phi", FEE_PHI)]
    assert fees.amounts(dossier["id"]) == {"total": TOTAL, "paid": 0, "owed": TOTAL}


def test_a_successful_payment_is_applied_once_with_receipt_history_delivery_and_e_mail(
    app, jobs, smtp, gateway, webhooks
):
    user, dossier = make_dossier()
    deliveries_before = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery))
    payment = start(user, dossier["id"])
    assert payment["state"] == "created" and payment["amount"] == TOTAL and payment["client_secret"]
    row = payment_row(payment["id"])
    assert row.gateway_ref.startswith("pi_") and row.currency == "VND"

    answer = pay_at_gateway(gateway, payment)
    assert answer.state == "succeeded" and answer.amount == TOTAL
    assert answer.metadata == {"payment_id": str(payment["id"]), "dossier_code": dossier["code"]}

    # localstripe's signed payment_intent.succeeded webhook reaches the live portal.
    wait_paid(jobs, payment["id"], what="the succeeded webhook")
    jobs()
    assert [e.result for e in events(payment_id=payment["id"])] == ["applied"]
    (receipt,) = receipts_of(payment["id"])
    assert receipt.number >= 1 and receipt.total == TOTAL and receipt.dossier_code == dossier["code"]
    assert sorted((line["kind"], line["amount"]) for line in receipt.lines) == [
        ("le_phi", FEE_LE_PHI),
        ("phi", FEE_PHI),
    ]
    history = db.session.scalars(
        sa.select(DossierEvent).where(
            DossierEvent.dossier_id == dossier["id"], DossierEvent.source == "payments"
        )
    ).all()
    assert len(history) == 1 and "200.000 đồng" in history[0].note
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == deliveries_before + 1
    assert fees.amounts(dossier["id"])["owed"] == 0
    mails = wait_for(
        lambda: [
            m
            for m in smtp.to("binh@example.vn")
            if "Receipt" in str(m["Subject"]) or "Biên lai" in str(m["Subject"])
        ],
        what="the receipt e-mail",
    )
    assert len(mails) == 1
    (attachment,) = list(mails[0].iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")


def test_a_declined_card_marks_the_payment_failed_and_nothing_is_issued(app, jobs, gateway, webhooks):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    answer = pay_at_gateway(gateway, payment, DECLINED)
    assert answer.state == "failed" and answer.failure_code == "card_declined"
    wait_for(lambda: payment_row(payment["id"]).state == "failed", what="the payment_failed webhook")
    row = payment_row(payment["id"])
    assert row.failure_code == "card_declined"
    assert receipts_of(payment["id"]) == []
    assert fees.amounts(dossier["id"])["owed"] == TOTAL
    # Paying again opens a new payment: the failed one is never reused.
    again = start(user, dossier["id"])
    assert again["id"] != payment["id"] and again["state"] == "created"


def _authenticate(localstripe, payment_id: int, *, success: bool) -> None:
    """What localstripe's stripe.js does when the citizen finishes 3-D Secure."""
    import requests

    from tests.payments.conftest import PUBLISHABLE_KEY

    row = payment_row(payment_id)
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{row.gateway_ref}/_authenticate",
        params={"success": "true" if success else "false"},
        json={"key": PUBLISHABLE_KEY, "client_secret": row.client_secret},
        timeout=5,
    )
    response.raise_for_status()


def test_3d_secure_required_then_passed_pays_the_dossier(app, jobs, gateway, localstripe, client):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    # 4000 0025 0000 3155 asks for 3-D Secure at localstripe.
    method = gateway.client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    answer = service.confirm_payment(user, payment["id"], method.id)
    assert answer["requires_action"] is True and answer["state"] == "processing"
    _authenticate(localstripe, payment["id"], success=True)
    # The return page asks the gateway: it does not wait for the webhook.
    assert service.refresh_payment(user, payment["id"])["state"] == "succeeded"
    jobs()
    assert len(receipts_of(payment["id"])) == 1


def test_3d_secure_required_then_failed_leaves_the_dossier_unpaid(app, jobs, gateway, localstripe):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    method = gateway.client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    assert service.confirm_payment(user, payment["id"], method.id)["requires_action"] is True
    _authenticate(localstripe, payment["id"], success=False)
    state = service.refresh_payment(user, payment["id"])
    assert state["state"] == "failed"
    assert payment_row(payment["id"]).failure_code == "payment_intent_authentication_failure"
    assert receipts_of(payment["id"]) == [] and fees.amounts(dossier["id"])["owed"] == TOTAL


def test_starting_twice_reuses_the_open_payment(app, jobs):
    user, dossier = make_dossier()
    first = start(user, dossier["id"])
    second = start(user, dossier["id"])
    assert first["id"] == second["id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
