"""The gateway's callbacks: signatures, repeats, order, amounts, hostile bodies, races.

Where localstripe sends the event itself it is used as is (the duplicate: two webhook
endpoints at localstripe deliver the same signed event twice). What localstripe never
sends (an event with a stale timestamp, a forged one, a failed event after success, an
amount it would not report) is built by the test from the object localstripe holds and
signed by the test with the webhook secret, exactly as the gateway would.
"""

from __future__ import annotations

import json
import threading
import time

import sqlalchemy as sa

from portal.extensions import db
from portal.payments import fees, service
from portal.payments.models import Payment
from tests.payments.conftest import set_webhook
from tests.payments.support import (
    TOTAL,
    event_body,
    events,
    intent_object,
    make_dossier,
    pay_at_gateway,
    payment_row,
    post_signed,
    receipts_of,
    start,
    wait_for,
    wait_paid,
)


def _paid_at_gateway(localstripe, gateway):
    """A dossier paid at the gateway, the portal not told yet (localstripe's webhook is off)."""
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)
    return user, dossier, payment, intent_object(localstripe, payment_row(payment["id"]).gateway_ref)


def test_the_same_webhook_delivered_twice_is_applied_once(app, jobs, gateway, localstripe, webhooks, smtp):
    # A second endpoint at localstripe pointing at the portal: every event arrives twice,
    # each delivery signed by localstripe.
    set_webhook(localstripe, "portal-twice", webhooks + "/payments/webhooks/stripe")
    try:
        user, dossier = make_dossier()
        payment = start(user, dossier["id"])
        pay_at_gateway(gateway, payment)
        wait_paid(jobs, payment["id"], what="the webhook")
        time.sleep(1.5)  # both deliveries have come
    finally:
        set_webhook(localstripe, "portal-twice", "http://127.0.0.1:9/", events=["none"])
    jobs()
    stored = events(payment_id=payment["id"])
    assert len(stored) == 1 and stored[0].result == "applied"
    assert len(receipts_of(payment["id"])) == 1
    wait_for(lambda: smtp.to("binh@example.vn"), what="the e-mail")
    time.sleep(0.3)
    assert len([m for m in smtp.to("binh@example.vn") if any(True for _ in m.iter_attachments())]) == 1


def test_a_replayed_event_id_answers_duplicate_and_changes_nothing(
    app, client, jobs, gateway, localstripe, payments_live
):
    _, _, payment, intent = _paid_at_gateway(localstripe, gateway)
    body = event_body("payment_intent.succeeded", intent, event_id="evt_replayed_1")
    first = post_signed(client, body)
    assert first.status_code == 200 and first.get_json()["result"] == "applied"
    again = post_signed(client, body)
    assert again.status_code == 200 and again.get_json()["result"] == "duplicate"
    jobs()
    assert len(events()) == 1 and len(receipts_of(payment["id"])) == 1


def test_a_forged_signature_is_refused_with_401_and_stores_nothing(
    app, client, jobs, gateway, localstripe, payments_live
):
    _, _, payment, intent = _paid_at_gateway(localstripe, gateway)
    body = event_body("payment_intent.succeeded", intent)
    response = post_signed(client, body, secret="whsec_someone_else")
    assert response.status_code == 401
    assert response.get_json() == {
        "status_code": 401,
        "errors": [{"error": "InvalidSignature", "message": "signature does not match"}],
    }
    # Tampered body under a genuine signature, no signature, garbage header.
    from portal.payments.clients import sign_payload
    from tests.payments.conftest import WEBHOOK_SECRET

    header = sign_payload(body, WEBHOOK_SECRET)
    assert post_signed(client, body.replace(b"succeeded", b"succeeded "), header=header).status_code == 401
    assert post_signed(client, body, header="").status_code == 401
    assert post_signed(client, body, header="t=abc,v1=" + "0" * 64).status_code == 401
    assert events() == [] and payment_row(payment["id"]).state == "created"


def test_any_of_several_signatures_and_either_rotated_secret_is_accepted(
    app, client, jobs, gateway, localstripe, payments_live
):
    from portal.payments.clients import sign_payload
    from tests.payments.conftest import WEBHOOK_SECRET

    app.config["STRIPE_WEBHOOK_SECRET"] = f"whsec_new_one, {WEBHOOK_SECRET}"
    app.extensions.pop("payment_gateways", None)
    try:
        _, _, payment, intent = _paid_at_gateway(localstripe, gateway)
        body = event_body("payment_intent.succeeded", intent)
        stamp = int(time.time())
        wrong = sign_payload(body, "whsec_wrong", stamp).split(",")[1]
        right = sign_payload(body, WEBHOOK_SECRET, stamp)
        response = post_signed(client, body, header=f"{right.split(',')[0]},{wrong},{right.split(',')[1]}")
        assert response.status_code == 200 and response.get_json()["result"] == "applied"
        # The new secret alone is accepted too.
        other = event_body("payment_intent.processing", intent)
        assert post_signed(client, other, secret="whsec_new_one").status_code == 200
    finally:
        app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
        app.extensions.pop("payment_gateways", None)


def test_a_stale_timestamp_is_refused_with_401_and_stores_nothing(
    app, client, jobs, gateway, localstripe, payments_live
):
    _, _, payment, intent = _paid_at_gateway(localstripe, gateway)
    body = event_body("payment_intent.succeeded", intent)
    response = post_signed(client, body, timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["error"] == "StaleTimestamp"
    assert post_signed(client, body, timestamp=int(time.time()) + 301).status_code == 401
    assert events() == [] and payment_row(payment["id"]).state == "created"


def test_an_amount_the_portal_did_not_ask_for_is_flagged_and_never_applied(
    app, client, jobs, gateway, localstripe, webhooks
):
    # The intent's amount is changed at the gateway before the card is charged: localstripe
    # then reports (in its own signed webhook) success for another amount.
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    ref = payment_row(payment["id"]).gateway_ref
    gateway.client.v1.payment_intents.update(ref, params={"amount": 1000})
    pay_at_gateway(gateway, payment)
    wait_for(lambda: events(payment_id=payment["id"]), what="the webhook")
    (event,) = events(payment_id=payment["id"])
    assert event.result == "mismatch"
    row = payment_row(payment["id"])
    assert row.state == "created" and "1000 VND" in row.flagged and str(TOTAL) in row.flagged
    assert receipts_of(payment["id"]) == [] and fees.amounts(dossier["id"])["owed"] == TOTAL
    # Nor does the return page apply it.
    assert service.refresh_payment(user, payment["id"])["state"] == "created"


def test_another_currency_is_flagged_too(app, client, jobs, gateway, localstripe, payments_live):
    _, _, payment, intent = _paid_at_gateway(localstripe, gateway)
    body = event_body("payment_intent.succeeded", {**intent, "currency": "usd"})
    assert post_signed(client, body).get_json()["result"] == "mismatch"
    assert payment_row(payment["id"]).state == "created"


def test_a_failed_event_after_a_succeeded_one_changes_nothing(
    app, client, jobs, gateway, localstripe, webhooks
):
    user, dossier, payment, intent = _paid_at_gateway(localstripe, gateway)
    wait_paid(jobs, payment["id"], what="the succeeded webhook")
    jobs()
    # Late and out of order: the failure of an earlier attempt, as the gateway would sign it.
    failed = {
        **intent,
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }
    response = post_signed(
        client, event_body("payment_intent.payment_failed", failed, created=int(time.time()) - 60)
    )
    assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    row = payment_row(payment["id"])
    assert row.state == "succeeded" and row.failure_code is None
    assert len(receipts_of(payment["id"])) == 1 and fees.amounts(dossier["id"])["owed"] == 0


def test_an_event_about_no_payment_of_ours_is_stored_as_unknown(app, client, jobs, localstripe):
    intent = {
        "id": "pi_not_ours",
        "object": "payment_intent",
        "amount": 5,
        "currency": "vnd",
        "status": "succeeded",
    }
    response = post_signed(client, event_body("payment_intent.succeeded", intent))
    assert response.status_code == 200 and response.get_json()["result"] == "unknown"
    assert [e.result for e in events()] == ["unknown"]


def test_hostile_and_malformed_bodies_answer_400_and_store_nothing(app, client, jobs):
    for body in (
        b"not json",
        b"[]",
        b'{"id": 5, "type": "x"}',
        b'{"id": "evt_1", "type": "x", "data": {"object": []}}',
        "\u0000".encode(),
    ):
        response = post_signed(client, body)
        assert response.status_code == 400, body
        assert response.get_json()["errors"][0]["error"] == "InvalidEvent"
    huge = b'{"id": "evt_big", "type": "x", "pad": "' + b"a" * (300 * 1024) + b'"}'
    assert post_signed(client, huge).status_code == 413
    assert client.get("/payments/webhooks/stripe").status_code == 405
    assert events() == []


def test_the_return_page_and_the_webhook_at_the_same_moment_give_one_receipt_and_one_e_mail(
    app, client, jobs, gateway, localstripe, payments_live, smtp
):
    from tests.dossiers.test_following_pages import sign_in_citizen

    user = sign_in_citizen(client)
    _, dossier = make_dossier(user)
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)
    body = event_body(
        "payment_intent.succeeded", intent_object(localstripe, payment_row(payment["id"]).gateway_ref)
    )
    barrier = threading.Barrier(2)
    answers = {}

    def webhook():
        with app.app_context():
            barrier.wait()
            answers["webhook"] = post_signed(app.test_client(), body).get_json()["result"]

    def return_page():
        with app.app_context():
            barrier.wait()
            answers["page"] = client.get(
                f"/thanh-toan/{payment['id']}/ket-qua?lang=en&redirect_status=failed"
            )

    threads = [threading.Thread(target=webhook), threading.Thread(target=return_page)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    jobs()
    page = answers["page"]
    assert page.status_code == 200
    # The page shows the real state, not what its URL claims.
    assert 'data-state="succeeded"' in page.get_data(as_text=True)
    assert answers["webhook"] in ("applied", "ignored")
    assert len(receipts_of(payment["id"])) == 1
    wait_for(lambda: smtp.to("binh@example.vn"), what="the e-mail")
    time.sleep(0.3)
    receipts_mail = [m for m in smtp.to("binh@example.vn") if any(True for _ in m.iter_attachments())]
    assert len(receipts_mail) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
    assert len(events(payment_id=payment["id"])) == 1


def test_a_callback_that_outruns_the_gateway_id_finds_the_payment_by_its_metadata(
    app, client, jobs, gateway, localstripe, payments_live
):
    _, _, payment, intent = _paid_at_gateway(localstripe, gateway)
    # As if the callback came before the portal had recorded the gateway's id.
    db.session.execute(sa.update(Payment).values(gateway_ref=None))
    db.session.commit()
    response = post_signed(client, event_body("payment_intent.succeeded", intent))
    assert response.get_json()["result"] == "applied"
    assert payment_row(payment["id"]).gateway_ref == intent["id"]


def test_the_webhook_is_rate_limited_per_address(_tmp_root, localstripe):
    from tests.conftest import make_test_app
    from tests.payments.conftest import payments_settings

    limited = make_test_app(
        _tmp_root,
        "payments-ratelimit",
        RATELIMIT_ENABLED=True,
        PAYMENT_WEBHOOK_RATE_LIMIT="2 per minute",
        **payments_settings(_tmp_root, localstripe),
    )
    with limited.app_context():
        client = limited.test_client()
        codes = [post_signed(client, b"{}", header="").status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_payload_json_is_kept_for_staff(app, client, jobs, gateway, localstripe, payments_live):
    _, _, payment, intent = _paid_at_gateway(localstripe, gateway)
    post_signed(client, event_body("payment_intent.succeeded", intent, event_id="evt_kept"))
    (event,) = events()
    assert event.payload["data"]["object"]["id"] == intent["id"]
    assert json.dumps(event.payload)
