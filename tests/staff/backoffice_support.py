"""Shared set-up of the back-office screen tests: a filed dossier whose delivery failed,
staff of each role signed in through the real pages."""

from __future__ import annotations

import sqlalchemy as sa

from portal.audit.models import AuditEntry
from portal.dossiers.models import Delivery
from portal.extensions import db
from tests.dossiers.support import make_filed, make_service, make_user
from tests.staff.support import make_agencies, make_staff, sign_in_staff
from tests.web import csrf_token


def filed_dossier(user=None) -> dict:
    """A dossier filed at the Ministry of Justice (000.00.00.G15). Needs ``jobs``."""
    service_id, keys = make_service()
    return make_filed(user or make_user(), service_id, keys)


def failed_delivery(dossier: dict, *, error: str = "no answer: ConnectError") -> str:
    delivery = db.session.scalar(sa.select(Delivery).where(Delivery.dossier_id == dossier["id"]))
    delivery.state, delivery.last_error = "failed", error
    db.session.commit()
    return delivery.id


def signed_in(app, role: str, *, agencies: tuple[str, ...] = (), email: str | None = None):
    """(client, staff, CSRF token) of a staff member of ``role``, signed in."""
    make_agencies()
    staff = make_staff(role, agencies=agencies, email=email)
    client = app.test_client()
    sign_in_staff(client, staff)
    token = csrf_token(client.get("/quan-tri/").get_data(as_text=True))
    return client, staff, token


def audit(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    )


def delivery_state(delivery_id: str) -> str:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id).state
