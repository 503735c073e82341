"""A back office with one staff member of every role and one object of every kind."""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage

from portal.feedback import desk, service
from tests.dossiers.support import make_user, png_bytes
from tests.staff.support import make_agencies, make_staff

ROLES = ("agent", "supervisor", "agency_officer", "admin")


def make_ticket(
    app,
    user=None,
    *,
    agency: str | None = "000.01.01.H22",
    title="Chậm trả kết quả hồ sơ",
    attach: bool = False,
    **fields,
):
    """A received ticket (a signed-in citizen's, so no confirmation step)."""
    user = user or make_user(email=f"citizen{id(fields)}@example.vn", phone=None)
    file = FileStorage(io.BytesIO(png_bytes()), "anh-chup.png", content_type="image/png") if attach else None
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        ticket, _ = service.submit(
            user,
            category=fields.pop("category", "dossier"),
            unsafe_title=title,
            unsafe_content=fields.pop(
                "content", "Hồ sơ của tôi đã quá hạn mà chưa có kết quả, đề nghị kiểm tra."
            ),
            unsafe_contact_name=fields.pop("contact_name", None),
            unsafe_email=None,
            unsafe_phone=fields.pop("phone", None),
            unsafe_agency_code=agency,
            file=file,
            **fields,
        )
    return ticket


def build_world(app) -> dict:
    """Every role signed in nowhere yet, a ticket in the officer's scope (answered, with a
    pending publication and an attachment), one outside it, a canned response, a colleague."""
    agencies = make_agencies()
    people = {
        role: make_staff(role, agencies=("000.00.00.H22",) if role == "agency_officer" else ())
        for role in ROLES
    }
    colleague = make_staff("agent", email="colleague@dichvucong.example.vn", full_name="Trần Thị Đồng Nghiệp")
    citizen = make_user(email="nguoidan@example.vn", phone="0912345678", full_name="Phạm Minh Dân")
    ticket = make_ticket(app, citizen, attach=True)
    outside = make_ticket(
        app,
        make_user(email="khac@example.vn", phone=None, full_name="Lê Khác"),
        agency="000.00.00.H29",
        title="Phản ánh ở Hà Nội",
    )
    admin = people["admin"]
    with app.test_request_context("/"):
        desk.reply(admin, ticket.id, "Hồ sơ đã được xử lý, mời ông/bà nhận kết quả.")
        canned = desk.save_canned(
            admin, None, unsafe_title="Cảm ơn", unsafe_body="Cảm ơn ông/bà đã phản ánh.", category=None
        )
        publication = desk.propose_publication(
            admin,
            ticket.id,
            unsafe_title="Hồ sơ quá hạn",
            unsafe_question="Hồ sơ quá hạn thì làm gì?",
            unsafe_answer="Liên hệ bộ phận một cửa để được hỗ trợ.",
        )
    backoffice = build_backoffice_objects(app, citizen)
    return {
        **backoffice,
        "agencies": agencies,
        "people": people,
        "colleague": colleague,
        "citizen": citizen,
        "ticket": ticket.id,
        "outside": outside.id,
        "canned": canned.id,
        "publication": publication.id,
    }


def build_backoffice_objects(app, citizen) -> dict:
    """A filed dossier (through the dossiers service) whose delivery failed, a partner with
    one secret, a paid payment with a receipt-less history, and a catalog import run."""
    import sqlalchemy as sa

    from portal.db import utcnow
    from portal.dossiers.models import Delivery
    from portal.extensions import db
    from portal.payments.models import Payment
    from portal.sync import partners
    from services_catalog.models import CatalogImport
    from tests.dossiers.support import make_filed, make_service

    partners.create_partner("G15", base_url="http://127.0.0.1:9/partner-api", name="Một cửa Bộ Tư pháp")
    service_id, keys = make_service()
    filed = make_filed(citizen, service_id, keys)
    delivery = db.session.scalar(sa.select(Delivery).where(Delivery.dossier_id == filed["id"]))
    # As if the partner had been down for a day: retries stopped.
    delivery.state, delivery.last_error = "failed", "no answer: ConnectError"
    payment = Payment(
        dossier_id=filed["id"],
        amount=200_000,
        state="succeeded",
        gateway="stripe",
        gateway_ref="pi_world_0001",
        succeeded_at=utcnow(),
    )
    db.session.add(payment)
    db.session.commit()
    secret_id = partners.list_partners()[0]["secrets"][0]["id"]
    return {
        "dossier": filed,
        "delivery": delivery.id,
        "partner": "G15",
        "secret_id": secret_id,
        "payment": payment.id,
        "catalog_import": db.session.scalar(sa.select(sa.func.max(CatalogImport.id))),
    }
