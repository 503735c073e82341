"""The payments screens: search, a payment's page, its refunds (against localstripe, through
the refund service, so a form sent twice refunds once), scoped to the officer's agencies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.payments import service
from portal.payments.models import Payment, Refund
from tests.payments.support import TOTAL, make_dossier, pay_at_gateway, payment_row, start
from tests.staff.backoffice_support import audit, signed_in

BASE = "/quan-tri/thanh-toan/"


@pytest.fixture
def app(gateway_app):
    return gateway_app


@pytest.fixture
def gateway(app):
    from portal.payments.gateway import get_gateway

    return get_gateway("stripe")


def _paid(gateway) -> tuple[dict, dict]:
    """(dossier, payment) paid at localstripe, at the Ministry of Justice (G15)."""
    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    pay_at_gateway(gateway, payment)
    assert service.refresh_payment(user, payment["id"])["state"] == "succeeded"
    return dossier, payment


def _refund(client, payment_id: int, token: str, **data):
    page = client.get(f"{BASE}{payment_id}").get_data(as_text=True)
    expected = page.split('name="expected" type="hidden" value="', 1)[1].split('"', 1)[0]
    return client.post(
        f"{BASE}{payment_id}/hoan-tien", data={"csrf_token": token, "expected": expected, **data}
    )


def test_payments_are_found_by_dossier_code_payment_number_gateway_reference_and_state(app, jobs, gateway):
    dossier, payment = _paid(gateway)
    ref = payment_row(payment["id"]).gateway_ref
    client, _staff, _token = signed_in(app, "agent")
    for query in (
        f"dossier_code={dossier['code']}",
        f"payment_id={payment['id']}",
        f"gateway_ref={ref}",
        "state=succeeded",
        "day_from=2000-01-01&day_to=2999-12-31",
    ):
        page = client.get(f"{BASE}?{query}").get_data(as_text=True)
        assert f'href="{BASE}{payment["id"]}"' in page, query
    assert f'href="{BASE}{payment["id"]}"' not in client.get(f"{BASE}?state=refunded").get_data(as_text=True)
    detail = client.get(f"{BASE}{payment['id']}")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "no-store" in detail.headers["Cache-Control"]
    assert "Phí: cung cấp thông tin lý lịch tư pháp" in html and ref in html
    assert 'name="reason"' not in html  # agents do not refund
    if "/bien-lai" in html:
        receipt = client.get(f"{BASE}{payment['id']}/bien-lai")
        assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"


def test_bad_search_input_is_named_next_to_its_field(app):
    client, _staff, _token = signed_in(app, "agent")
    for query, field in (
        ("payment_id=abc", "payment_id"),
        ("day_from=2025-13-45", "day_from"),
        ("day_from=2025-02-02&day_to=2025-01-01", "day_to"),
        ("state=stolen", "state"),
    ):
        response = client.get(f"{BASE}?{query}")
        assert response.status_code == 400 and f'id="{field}-error"' in response.get_data(as_text=True), query


def test_an_officer_of_another_agency_neither_finds_nor_opens_the_payment(app, jobs, gateway):
    dossier, payment = _paid(gateway)
    client, _staff, _token = signed_in(
        app, "agency_officer", agencies=("000.00.00.H22",), email="h22@dichvucong.example.vn"
    )
    assert f'href="{BASE}{payment["id"]}"' not in client.get(
        f"{BASE}?dossier_code={dossier['code']}"
    ).get_data(as_text=True)
    assert client.get(f"{BASE}{payment['id']}").status_code == 404
    assert client.get(f"{BASE}{payment['id']}/bien-lai").status_code == 404
    assert client.get(f"{BASE}999999").status_code == 404


def test_a_partial_refund_with_its_reason_is_made_once_even_if_the_form_is_sent_twice(app, jobs, gateway):
    _dossier, payment = _paid(gateway)
    client, staff, token = signed_in(app, "supervisor")
    page = client.get(f"{BASE}{payment['id']}").get_data(as_text=True)
    expected = page.split('name="expected" type="hidden" value="', 1)[1].split('"', 1)[0]
    assert expected == str(TOTAL)
    form = {
        "csrf_token": token,
        "expected": expected,
        "scope": "partial",
        "amount": "50000",
        "reason": "Thu thừa lệ phí",
    }
    first = client.post(f"{BASE}{payment['id']}/hoan-tien", data=form)
    assert first.status_code == 302
    replay = client.post(f"{BASE}{payment['id']}/hoan-tien", data=form)
    assert replay.status_code == 409
    row = payment_row(payment["id"])
    assert row.state == "partially_refunded" and row.amount_refunded == 50_000
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
    (entry,) = audit("payment.refund")
    assert entry.actor_id == staff.id and entry.changes["amount"] == 50_000
    assert entry.changes["reason"] == "Thu thừa lệ phí"


def test_a_full_refund_gives_back_all_that_is_left(app, jobs, gateway):
    _dossier, payment = _paid(gateway)
    client, _staff, token = signed_in(app, "admin")
    assert (
        _refund(client, payment["id"], token, scope="partial", amount="20000", reason="Một phần").status_code
        == 302
    )
    assert _refund(client, payment["id"], token, scope="full", reason="Hồ sơ bị từ chối").status_code == 302
    row = payment_row(payment["id"])
    assert row.state == "refunded" and row.amount_refunded == TOTAL
    assert sorted(r.amount for r in db.session.scalars(sa.select(Refund))) == [20_000, TOTAL - 20_000]


def test_refunds_above_what_is_left_or_without_a_reason_are_refused_with_messages_by_their_fields(
    app, jobs, gateway
):
    _dossier, payment = _paid(gateway)
    client, _staff, token = signed_in(app, "supervisor")
    too_much = _refund(client, payment["id"], token, scope="partial", amount=str(TOTAL + 1), reason="Quá")
    assert too_much.status_code == 409 and "alert--error" in too_much.get_data(as_text=True)
    no_reason = _refund(client, payment["id"], token, scope="partial", amount="1000", reason="  ")
    assert no_reason.status_code == 400 and 'id="reason-error"' in no_reason.get_data(as_text=True)
    for amount in ("", "-5", "1.5", "abc"):
        bad = _refund(client, payment["id"], token, scope="partial", amount=amount, reason="Thử")
        assert bad.status_code == 400 and 'id="amount-error"' in bad.get_data(as_text=True), amount
    forged = client.post(
        f"{BASE}{payment['id']}/hoan-tien",
        data={"csrf_token": token, "expected": "x", "scope": "full", "reason": "Thử"},
    )
    assert forged.status_code == 400
    assert (
        client.post(
            f"{BASE}{payment['id']}/hoan-tien", data={"scope": "full", "reason": "x", "expected": "1"}
        ).status_code
        == 400
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert payment_row(payment["id"]).amount_refunded == 0 and audit("payment.refund") == []


def test_agents_and_officers_cannot_refund(app, jobs, gateway):
    _dossier, payment = _paid(gateway)
    for role, agencies in (("agent", ()), ("agency_officer", ("000.00.00.G15",))):
        client, _staff, token = signed_in(
            app, role, agencies=agencies, email=f"{role}-r@dichvucong.example.vn"
        )
        response = client.post(
            f"{BASE}{payment['id']}/hoan-tien",
            data={"csrf_token": token, "expected": str(TOTAL), "scope": "full", "reason": "Thử"},
        )
        assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0


def test_refunding_an_unknown_or_unpaid_payment_is_refused(app, jobs, gateway):
    user, dossier = make_dossier()
    unpaid = start(user, dossier["id"])
    client, _staff, token = signed_in(app, "admin")
    data = {"csrf_token": token, "expected": "0", "scope": "partial", "amount": "1000", "reason": "Thử"}
    assert client.post(f"{BASE}999999/hoan-tien", data=data).status_code == 404
    assert client.post(f"{BASE}{unpaid['id']}/hoan-tien", data=data).status_code == 409
    assert db.session.get(Payment, unpaid["id"]).amount_refunded == 0
