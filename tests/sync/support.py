"""Test helpers for partner sync: partners through the service, signed requests as a partner
would make them, and events in the contract's shape."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.dossiers.models import Dossier, DossierEvent, DossierPause
from portal.extensions import db
from portal.sync import partners, signing

PARTNER = "H56"
AGENCY = "000.00.15.H56"
EVENTS_PATH = "/api/v1/sync/dossier-events"
FEED_PATH = "/api/v1/sync/dossiers"
T0 = datetime(2025, 1, 2, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, a Thursday


def make_partner(code: str = PARTNER, base_url: str | None = None) -> str:
    """Create a partner; return its secret."""
    return partners.create_partner(code, base_url=base_url, name=f"Hệ thống một cửa {code}")


def signed(body: bytes, secret: str, code: str = PARTNER, *, at: float | None = None) -> dict:
    headers = signing.sign_headers(code, secret, body, now=at if at is not None else time.time())
    headers["Content-Type"] = "application/json"
    return headers


def post_events(client, secret: str, events: list[dict], code: str = PARTNER):
    body = json.dumps({"events": events}, ensure_ascii=False).encode()
    return client.post(EVENTS_PATH, data=body, headers=signed(body, secret, code))


def results(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["result"] for r in response.get_json()["results"]]


def block(
    *,
    agency: str = AGENCY,
    id_number: str = "038190000001",
    email: str | None = "b@example.vn",
    procedure: str = "1.001193",
    received: datetime = T0,
) -> dict:
    applicant = {"name": "Trần Thị B", "id_number": id_number, "phone": "0912345678"}
    if email:
        applicant["email"] = email
    return {
        "procedure_code": procedure,
        "agency_code": agency,
        "channel": 1,
        "received_at": received.isoformat(),
        "applicant": applicant,
        "summary": "Đăng ký khai sinh cho con",
    }


def event(
    event_id: str, code: str, status: int, hours: float, *, dossier: dict | None = None, **extra
) -> dict:
    out = {
        "event_id": event_id,
        "dossier_code": code,
        "status": status,
        "occurred_at": (T0 + timedelta(hours=hours)).isoformat(),
        "note": f"trạng thái {status}",
        "handler": {"name": "Nguyễn Văn A", "unit": "Phòng Tư pháp"},
    }
    if dossier is not None:
        out["dossier"] = dossier
    out.update(extra)
    return out


def dossier(code: str) -> Dossier | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Dossier).where(Dossier.code == code))


def history(code: str) -> list[DossierEvent]:
    d = dossier(code)
    return list(
        db.session.scalars(
            sa.select(DossierEvent).where(DossierEvent.dossier_id == d.id).order_by(DossierEvent.occurred_at)
        )
    )


def pauses(code: str) -> list[DossierPause]:
    d = dossier(code)
    return list(
        db.session.scalars(
            sa.select(DossierPause).where(DossierPause.dossier_id == d.id).order_by(DossierPause.started_at)
        )
    )


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
