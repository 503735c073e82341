"""The citizen's payment pages through the test client: what the dossier page shows, the
pay button, the pay page and its confirm call, the return page, receipt downloads, and
that nobody reaches another citizen's payment or receipt."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.payments.models import Payment
from tests.dossiers.test_following_pages import sign_in_citizen
from tests.payments.support import VISA, make_dossier, make_paid_service, payment_row, receipts_of
from tests.web import csrf_token


def _english(client):
    client.set_cookie("lang", "en")


def _pay(client, dossier_id: int):
    page = client.get(f"/ho-so/{dossier_id}")
    return client.post(
        f"/ho-so/{dossier_id}/thanh-toan", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )


def test_the_dossier_page_shows_the_fees_what_is_owed_and_a_pay_button(client, jobs):
    user = sign_in_citizen(client)
    _english(client)
    _, dossier = make_dossier(user)
    html = client.get(f"/ho-so/{dossier['id']}").get_data(as_text=True)
    assert "Fee (phí): Phí: cung cấp thông tin lý lịch tư pháp" in html
    assert 'id="fees-owed">200.000&nbsp;đ' in html
    assert 'id="pay-fees"' in html


def test_paying_from_the_dossier_page_leads_to_the_pay_page_with_the_gateway_script(
    client, jobs, localstripe
):
    user = sign_in_citizen(client)
    _english(client)
    _, dossier = make_dossier(user)
    response = _pay(client, dossier["id"])
    assert response.status_code == 302
    payment = db.session.scalar(sa.select(Payment))
    assert response.headers["Location"].endswith(f"/thanh-toan/{payment.id}")
    page = client.get(f"/thanh-toan/{payment.id}")
    html = page.get_data(as_text=True)
    assert f'src="{localstripe}/js.stripe.com/v3/"' in html
    assert f'data-client-secret="{payment.client_secret}"' in html
    policy = page.headers["Content-Security-Policy"]
    assert f"script-src 'self' {localstripe}" in policy and f"connect-src 'self' {localstripe}" in policy
    assert page.headers["Cache-Control"] == "private, no-store"


def test_the_pay_button_without_its_csrf_token_is_refused_and_opens_nothing(client, jobs):
    user = sign_in_citizen(client)
    _, dossier = make_dossier(user)
    assert client.post(f"/ho-so/{dossier['id']}/thanh-toan").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_confirm_then_the_return_page_shows_the_paid_state_and_the_receipt_downloads(client, jobs):
    user = sign_in_citizen(client)
    _english(client)
    _, dossier = make_dossier(user)
    _pay(client, dossier["id"])
    payment = db.session.scalar(sa.select(Payment))
    page = client.get(f"/thanh-toan/{payment.id}").get_data(as_text=True)
    token = page.split('data-csrf="')[1].split('"')[0]
    answer = client.post(
        f"/thanh-toan/{payment.id}/xac-nhan",
        json={"payment_method": VISA},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {
        "state": "succeeded",
        "requires_action": False,
        "client_secret": None,
        "return_url": f"/thanh-toan/{payment.id}/ket-qua",
    }
    jobs()  # the receipt is issued by the effects job
    result = client.get(f"/thanh-toan/{payment.id}/ket-qua").get_data(as_text=True)
    assert 'data-state="succeeded"' in result and "Electronic receipt" in result
    (receipt,) = receipts_of(payment.id)
    download = client.get(f"/bien-lai/{receipt.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    assert download.headers["Cache-Control"] == "private, no-store"
    # Paid: the pay page now shows the result, and the dossier owes nothing.
    assert client.get(f"/thanh-toan/{payment.id}").status_code == 302
    assert 'id="pay-fees"' not in client.get(f"/ho-so/{dossier['id']}").get_data(as_text=True)


def test_the_confirm_call_refuses_hostile_input_without_charging(client, jobs):
    user = sign_in_citizen(client)
    _, dossier = make_dossier(user)
    _pay(client, dossier["id"])
    payment = db.session.scalar(sa.select(Payment))
    token = (
        client.get(f"/thanh-toan/{payment.id}").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    )
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    for body in ({"payment_method": "pm_x'; DROP"}, {"payment_method": ["pm_card_visa"]}, {}, "x" * 10):
        response = client.post(f"/thanh-toan/{payment.id}/xac-nhan", json=body, headers=headers)
        assert response.status_code == 400
        assert response.get_json()["errors"][0]["error"] == "InvalidPaymentMethod"
    # Without the CSRF header nothing is even read.
    assert client.post(f"/thanh-toan/{payment.id}/xac-nhan", json={"payment_method": VISA}).status_code == 400
    assert payment_row(payment.id).state == "created"


def test_the_return_page_never_believes_its_url(client, jobs):
    user = sign_in_citizen(client)
    _english(client)
    _, dossier = make_dossier(user)
    _pay(client, dossier["id"])
    payment = db.session.scalar(sa.select(Payment))
    html = client.get(
        f"/thanh-toan/{payment.id}/ket-qua?redirect_status=succeeded&payment_intent={payment.gateway_ref}"
    ).get_data(as_text=True)
    assert 'data-state="created"' in html and "Electronic receipt" not in html


def test_another_citizen_reaches_no_payment_page_and_no_receipt(client, jobs, gateway):
    owner = sign_in_citizen(client)
    _, dossier = make_dossier(owner)
    from portal.payments import service

    payment = service.start_payment(owner, dossier["id"])
    gateway.confirm(payment_row(payment["id"]).gateway_ref, payment_method=VISA, idempotency_key="t")
    service.refresh_payment(owner, payment["id"])
    jobs()
    (receipt,) = receipts_of(payment["id"])
    client.post(
        "/tai-khoan/dang-xuat",
        data={"csrf_token": csrf_token(client.get("/tai-khoan").get_data(as_text=True))},
    )

    intruder_client = client.application.test_client()
    sign_in_citizen(intruder_client, email="mallory@example.vn", phone="0911000111")
    for url in (
        f"/thanh-toan/{payment['id']}",
        f"/thanh-toan/{payment['id']}/ket-qua",
        f"/bien-lai/{receipt.id}",
        "/thanh-toan/999999",
        "/bien-lai/999999",
    ):
        assert intruder_client.get(url).status_code == 404, url
    page = intruder_client.get("/tai-khoan").get_data(as_text=True)
    assert (
        intruder_client.post(
            f"/ho-so/{dossier['id']}/thanh-toan", data={"csrf_token": csrf_token(page)}
        ).status_code
        == 404
    )
    # Signed out: sent to sign in.
    anonymous = client.application.test_client()
    assert anonymous.get(f"/bien-lai/{receipt.id}").status_code in (302, 401)


def test_a_dossier_that_owes_nothing_has_no_pay_button_and_refuses_to_start(client, jobs):
    user = sign_in_citizen(client)
    _english(client)
    _, dossier = make_dossier(user, service=make_paid_service(code="9.100002", phi=0, le_phi=0))
    html = client.get(f"/ho-so/{dossier['id']}").get_data(as_text=True)
    assert 'id="pay-fees"' not in html
    response = _pay(client, dossier["id"])
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/ho-so/{dossier['id']}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0
