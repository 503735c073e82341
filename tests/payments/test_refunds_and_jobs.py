"""Refunds, expiry, the mop-up and reconciliation, against localstripe.

localstripe sends no refund or cancellation events: where the gateway's word on those is
needed, the test reads the refund or intent from localstripe and signs the event itself
with the webhook secret.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.payments import service
from portal.payments.models import Payment, ReconciliationMismatch, Refund
from portal.payments.reconcile import reconcile
from portal.payments.refunds import refund_payment
from portal.workdays import VN_TZ
from tests.payments.support import (
    TOTAL,
    event_body,
    intent_object,
    make_dossier,
    pay_at_gateway,
    payment_row,
    post_signed,
    receipts_of,
    start,
    stripe_get,
)


def _paid(gateway, user=None, service_pair=None):
    """A payment paid at the gateway and applied by the return page (no webhook)."""
    user, dossier = make_dossier(user, service=service_pair)
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)
    assert service.refresh_payment(user, payment["id"])["state"] == "succeeded"
    return user, dossier, payment


# ------------------------------------------------------------------------------ refunds


def test_a_partial_then_the_rest_refunded_moves_the_payment_to_refunded(app, jobs, gateway, localstripe):
    _, _, payment = _paid(gateway)
    first = refund_payment(payment["id"], 50_000, actor="officer:lan", reason="Thu thừa lệ phí")
    assert first["state"] == "succeeded" and first["gateway_ref"].startswith("re_")
    row = payment_row(payment["id"])
    assert row.state == "partially_refunded" and row.amount_refunded == 50_000
    rest = refund_payment(payment["id"], TOTAL - 50_000, actor="officer:lan", reason="Hồ sơ bị từ chối")
    assert rest["state"] == "succeeded"
    row = payment_row(payment["id"])
    assert row.state == "refunded" and row.amount_refunded == TOTAL
    at_gateway = stripe_get(localstripe, f"/v1/refunds?payment_intent={row.gateway_ref}")
    assert sorted(r["amount"] for r in at_gateway["data"]) == [50_000, TOTAL - 50_000]


def test_a_refund_above_what_is_left_is_refused_and_nothing_is_sent_to_the_gateway(
    app, jobs, gateway, localstripe
):
    _, _, payment = _paid(gateway)
    refund_payment(payment["id"], 150_000, actor="officer:lan", reason="Hoàn một phần")
    with pytest.raises(Conflict) as refused:
        refund_payment(payment["id"], 50_001, actor="officer:lan", reason="Hoàn quá số còn lại")
    assert refused.value.token == "RefundTooLarge"
    row = payment_row(payment["id"])
    assert row.amount_refunded == 150_000 and row.state == "partially_refunded"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
    at_gateway = stripe_get(localstripe, f"/v1/refunds?payment_intent={row.gateway_ref}")
    assert [r["amount"] for r in at_gateway["data"]] == [150_000]


def test_every_refund_is_in_the_audit_log_with_who_why_and_how_much_and_a_refused_one_is_not(
    app, jobs, gateway, localstripe
):
    from portal.audit.models import AuditEntry

    _, _, payment = _paid(gateway)
    refund_payment(payment["id"], 40_000, actor="officer:lan", reason="Thu thừa lệ phí")
    with pytest.raises(Conflict):
        refund_payment(payment["id"], TOTAL, actor="officer:lan", reason="Quá số còn lại")
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "payment.refund")).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_label == "officer:lan" and entry.target_id == str(payment["id"])
    assert entry.changes["amount"] == 40_000 and entry.changes["reason"] == "Thu thừa lệ phí"


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True, None])
def test_a_refund_amount_that_is_not_whole_positive_dong_is_refused(app, jobs, gateway, amount):
    _, _, payment = _paid(gateway)
    with pytest.raises(ValidationFailed):
        refund_payment(payment["id"], amount, actor="officer:lan", reason="x")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0


def test_a_refund_needs_who_and_why_and_an_unpaid_payment_cannot_be_refunded(app, jobs, gateway):
    _, _, payment = _paid(gateway)
    with pytest.raises(ValidationFailed):
        refund_payment(payment["id"], 1, actor="", reason="x")
    with pytest.raises(ValidationFailed):
        refund_payment(payment["id"], 1, actor="officer", reason="  ")
    user, dossier = make_dossier()
    unpaid = start(user, dossier["id"])
    with pytest.raises(Conflict) as refused:
        refund_payment(unpaid["id"], 1, actor="officer", reason="x")
    assert refused.value.token == "NotRefundable"


def test_a_refund_made_at_the_gateway_is_reflected_from_its_event_once(
    app, client, jobs, gateway, localstripe
):
    _, _, payment = _paid(gateway)
    ref = payment_row(payment["id"]).gateway_ref
    made = gateway.client.v1.refunds.create(params={"payment_intent": ref, "amount": 20_000})
    refund_object = stripe_get(localstripe, f"/v1/refunds/{made.id}")
    body = event_body("refund.created", refund_object)
    assert post_signed(client, body).get_json()["result"] == "applied"
    assert post_signed(client, body).get_json()["result"] == "duplicate"
    # The same refund inside a later charge.refunded event adds nothing.
    charge = stripe_get(localstripe, f"/v1/charges/{refund_object['charge']}")
    charge["refunds"] = {"object": "list", "data": [refund_object]}
    assert post_signed(client, event_body("charge.refunded", charge)).get_json()["result"] == "ignored"
    (refund,) = db.session.scalars(sa.select(Refund)).all()
    assert (refund.source, refund.actor, refund.amount) == ("gateway", "gateway", 20_000)
    row = payment_row(payment["id"])
    assert row.state == "partially_refunded" and row.amount_refunded == 20_000


def test_a_portal_refund_echoed_by_the_gateway_event_is_not_counted_twice(
    app, client, jobs, gateway, localstripe
):
    _, _, payment = _paid(gateway)
    done = refund_payment(payment["id"], 30_000, actor="officer:lan", reason="Thu thừa")
    refund_object = stripe_get(localstripe, f"/v1/refunds/{done['gateway_ref']}")
    assert post_signed(client, event_body("refund.updated", refund_object)).get_json()["result"] == "ignored"
    assert payment_row(payment["id"]).amount_refunded == 30_000


def test_refund_cli_refunds_and_refuses_with_a_clear_message(app, jobs, gateway):
    _, _, payment = _paid(gateway)
    runner = app.test_cli_runner()
    args = ["payments", "refund", str(payment["id"]), "--actor", "officer:lan", "--reason", "Thu thừa"]
    ok = runner.invoke(args=[*args, "--amount", "1000"])
    assert ok.exit_code == 0 and '"state": "succeeded"' in ok.output
    refused = runner.invoke(args=[*args, "--amount", str(TOTAL)])
    assert refused.exit_code != 0 and "RefundTooLarge" in refused.output


# --------------------------------------------------------------------- expiry and mop-up


def test_an_unpaid_payment_expires_after_90_minutes_and_is_cancelled_at_the_gateway(app, jobs, localstripe):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    assert service.expire_payments(utcnow() + timedelta(minutes=89)) == 0
    assert service.expire_payments(utcnow() + timedelta(minutes=91)) == 1
    row = payment_row(payment["id"])
    assert row.state == "expired"
    assert intent_object(localstripe, row.gateway_ref)["status"] == "canceled"
    # Twice is harmless; a new payment can be started.
    assert service.expire_payments(utcnow() + timedelta(minutes=91)) == 0
    assert start(user, dossier["id"])["id"] != payment["id"]


def test_expiry_finding_the_payment_paid_meanwhile_applies_the_payment_instead(app, jobs, gateway):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)  # paid, but the callback was lost
    assert service.expire_payments(utcnow() + timedelta(minutes=91)) == 0
    assert payment_row(payment["id"]).state == "succeeded"
    jobs()
    assert len(receipts_of(payment["id"])) == 1


def test_the_mop_up_applies_the_true_state_of_a_payment_whose_webhook_never_came(app, jobs, gateway):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)
    assert payment_row(payment["id"]).state == "created"
    result = service.mop_up(utcnow() + timedelta(minutes=10))
    assert result["applied"] == 1 and payment_row(payment["id"]).state == "succeeded"
    assert service.mop_up(utcnow() + timedelta(minutes=10))["applied"] == 0
    jobs()
    assert len(receipts_of(payment["id"])) == 1


def test_mop_up_and_expire_commands_run(app, jobs):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["payments", "mop-up"]).exit_code == 0
    assert runner.invoke(args=["payments", "expire"]).exit_code == 0


def test_a_cancel_event_from_the_gateway_closes_an_open_payment(app, client, jobs, gateway, localstripe):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    ref = payment_row(payment["id"]).gateway_ref
    gateway.client.v1.payment_intents.cancel(ref)
    body = event_body("payment_intent.canceled", intent_object(localstripe, ref))
    assert post_signed(client, body).get_json()["result"] == "applied"
    assert payment_row(payment["id"]).state == "cancelled"


# ------------------------------------------------------------------------ reconciliation


def test_reconciliation_finds_a_payment_whose_webhook_never_arrived(app, jobs, gateway):
    _, _, applied = _paid(gateway)
    user, dossier = make_dossier()
    lost = start(user, dossier["id"])
    pay_at_gateway(gateway, lost)  # money taken; the portal was never told
    today = utcnow().astimezone(VN_TZ).date()
    result = reconcile(today)
    kinds = {(m["kind"], m["payment_id"]) for m in result["mismatches"]}
    assert ("missing_here", lost["id"]) in kinds
    assert all(m["payment_id"] != applied["id"] for m in result["mismatches"])
    stored = db.session.scalars(sa.select(ReconciliationMismatch)).all()
    assert {(m.kind, m.payment_id) for m in stored} == kinds
    rows = list(csv.DictReader(Path(result["totals_path"]).open(encoding="utf-8")))
    assert rows == [
        {
            "date": today.isoformat(),
            "agency_code": "000.00.00.G15",
            "payments": "1",
            "amount_vnd": str(TOTAL),
            "refunded_vnd": "0",
        }
    ]


def test_reconciliation_finds_a_payment_paid_here_with_no_charge_there_and_a_different_amount(
    app, jobs, gateway
):
    _, _, one = _paid(gateway)
    _, _, two = _paid(gateway)
    # As if the portal's records had been changed by hand.
    db.session.execute(sa.update(Payment).where(Payment.id == one["id"]).values(gateway_ref="pi_nowhere"))
    db.session.execute(sa.update(Payment).where(Payment.id == two["id"]).values(amount=TOTAL + 1))
    db.session.commit()
    result = reconcile(utcnow().astimezone(VN_TZ).date())
    kinds = {(m["kind"], m["payment_id"]) for m in result["mismatches"]}
    assert ("missing_there", one["id"]) in kinds
    assert ("amount_differs", two["id"]) in kinds


def test_reconcile_command_prints_the_day_and_refuses_a_bad_date(app, jobs, gateway):
    _paid(gateway)
    runner = app.test_cli_runner()
    day = utcnow().astimezone(VN_TZ).date().isoformat()
    ok = runner.invoke(args=["payments", "reconcile", "--date", day])
    # (Charges of earlier tests on this localstripe show as missing here: their rows are gone.)
    assert ok.exit_code == 0 and "mismatches; totals in" in ok.output
    bad = runner.invoke(args=["payments", "reconcile", "--date", "23/11/2026"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_the_mop_up_applies_the_effects_of_a_success_whose_job_was_lost(app, jobs, gateway, monkeypatch):
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)
    # The worker died between the commit and the job (the job is dropped on purpose here).
    monkeypatch.setattr(service, "enqueue", lambda *args, **kwargs: None)
    assert service.refresh_payment(user, payment["id"])["state"] == "succeeded"
    monkeypatch.undo()
    assert receipts_of(payment["id"]) == [] and payment_row(payment["id"]).effects_done_at is None
    assert service.mop_up(utcnow() + timedelta(minutes=10))["redone"] == 1
    jobs()
    assert len(receipts_of(payment["id"])) == 1
    assert service.mop_up(utcnow() + timedelta(minutes=10))["redone"] == 0
