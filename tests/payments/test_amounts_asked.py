"""An amount the agency asks for with status 6 (partner sync) is owed, shown on the dossier
page with the pay button and paid online, whatever the catalog said of the service's fees."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.payments import fees, service
from portal.payments.models import FeeLine
from services_catalog.generate import AGENCIES_FILE
from services_catalog.importer import import_records
from services_catalog.models import OnlineService, Procedure
from tests.dossiers.support import DEFAULT_DOCUMENTS, make_filed, make_service, procedure_record
from tests.dossiers.test_following_pages import sign_in_citizen
from tests.payments.support import bundled_record, pay_at_gateway, receipts_of, start
from tests.sync.support import event, make_partner, post_events, results

PARTNER = "G15"  # the Ministry of Justice's one-stop system: the test services are its own


@pytest.fixture
def ask(app):
    """ask(dossier, amount): the agency asks the citizen to pay ``amount`` đồng with status 6,
    through partner sync; returns the event's result."""
    secret = make_partner(PARTNER)

    def send(dossier: dict, amount: int, *, event_id: str = "G15-6-1") -> str:
        asked = {**event(event_id, dossier["code"], 6, 0, amount=amount), "occurred_at": utcnow().isoformat()}
        (result,) = results(post_events(app.test_client(), secret, [asked], code=PARTNER))
        return result

    return send


def test_a_dossier_of_a_service_not_paid_online_shows_what_the_agency_asks_and_a_pay_button(
    client, jobs, ask
):
    user = sign_in_citizen(client)
    client.set_cookie("lang", "en")
    service_id, keys = make_service()  # level 4, no fees: not paid online
    assert db.session.get(OnlineService, service_id).pays_online is False
    dossier = make_filed(user, service_id, keys)
    before = client.get(f"/ho-so/{dossier['id']}").get_data(as_text=True)
    assert 'id="pay-fees"' not in before and 'id="fees-owed"' not in before

    assert ask(dossier, 120_000) == "applied"
    html = client.get(f"/ho-so/{dossier['id']}").get_data(as_text=True)
    assert f"Other charge: {fees.PARTNER_DESCRIPTION}" in html
    assert 'id="fees-owed">120.000&nbsp;đ' in html
    assert 'id="pay-fees"' in html


def test_an_amount_asked_with_status_6_is_paid_online_with_its_own_receipt(client, jobs, gateway, ask):
    user = sign_in_citizen(client)
    service_id, keys = make_service()
    dossier = make_filed(user, service_id, keys)
    assert ask(dossier, 120_000) == "applied"
    assert ask(dossier, 120_000) == "duplicate"  # the partner sends its event again
    assert fees.amounts(dossier["id"]) == {"total": 120_000, "paid": 0, "owed": 120_000}

    payment = start(user, dossier["id"])
    assert payment["amount"] == 120_000 and payment["currency"] == "VND" and payment["client_secret"]
    assert pay_at_gateway(gateway, payment).state == "succeeded"
    assert service.refresh_payment(user, payment["id"])["state"] == "succeeded"
    jobs()
    (receipt,) = receipts_of(payment["id"])
    assert receipt.total == 120_000
    assert receipt.lines == [
        {"kind": "unspecified", "description": fees.PARTNER_DESCRIPTION, "amount": 120_000}
    ]
    assert fees.amounts(dossier["id"]) == {"total": 120_000, "paid": 120_000, "owed": 0}


def test_a_service_whose_catalog_fees_are_alternatives_charges_nothing_at_filing_then_what_is_asked(
    client, jobs, ask
):
    # The fees of 1.004594 (công nhận hạng cơ sở lưu trú du lịch): 1.500.000 đ for 1-2 stars
    # or 2.000.000 đ for 3 stars, on a service of the test ministry.
    real = bundled_record("1.004594")
    online = next(c for c in real["CACHTHUCTHUCHIEN"] if c["KENH"] == "2")
    record = procedure_record(
        code="9.104594", name=real["TENTTHC"], processing_days=30, documents=DEFAULT_DOCUMENTS
    )
    record["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0]["PHILEPHI"] = online["THOIGIAN"][0]["PHILEPHI"]
    import_records([record], full=False, agencies=json.loads(AGENCIES_FILE.read_text(encoding="utf-8")))
    db.session.commit()
    procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == "9.104594"))
    online_service = db.session.scalar(
        sa.select(OnlineService).where(OnlineService.procedure_id == procedure.id)
    )
    assert online_service.pays_online  # the fees are paid online, once the agency says which

    user = sign_in_citizen(client)
    dossier = make_filed(user, online_service.id, {d["name"]: d["key"] for d in procedure.documents})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeeLine)) == 0
    assert fees.amounts(dossier["id"])["owed"] == 0

    assert ask(dossier, 2_000_000) == "applied"  # a 3-star hotel
    assert fees.amounts(dossier["id"])["owed"] == 2_000_000
    assert start(user, dossier["id"])["amount"] == 2_000_000


def test_a_service_paid_online_whose_fees_wait_for_the_agency_says_so_until_the_agency_asks(
    client, jobs, ask
):
    user = sign_in_citizen(client)
    client.set_cookie("lang", "en")
    service_id, keys = make_service()
    # The catalog says "pay online", but no fee could be charged at filing (alternatives, an
    # exemption, a rate set by a council): nothing is owed until the agency says how much.
    db.session.get(OnlineService, service_id).pays_online = True
    db.session.commit()
    dossier = make_filed(user, service_id, keys)
    html = client.get(f"/ho-so/{dossier['id']}").get_data(as_text=True)
    assert 'id="fees-to-come"' in html and "The agency will tell you the fee" in html
    assert 'id="pay-fees"' not in html

    assert ask(dossier, 50_000) == "applied"
    html = client.get(f"/ho-so/{dossier['id']}").get_data(as_text=True)
    assert 'id="fees-to-come"' not in html
    assert 'id="pay-fees"' in html


def test_the_fee_to_come_is_said_in_vietnamese_too(client, jobs):
    user = sign_in_citizen(client)
    service_id, keys = make_service()
    db.session.get(OnlineService, service_id).pays_online = True
    db.session.commit()
    dossier = make_filed(user, service_id, keys)
    html = client.get(f"/ho-so/{dossier['id']}?lang=vi").get_data(as_text=True)
    assert "Cơ quan giải quyết sẽ thông báo khoản phí" in html
