"""Test data for the back office: agencies through the real importer, staff through the
service, sign-in through the real pages (password, then a real TOTP code)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import sqlalchemy as sa

from portal.extensions import db
from portal.staff import service
from portal.staff.models import StaffUser
from services_catalog.agency_import import import_agencies
from services_catalog.models import Agency
from services_catalog.report import ImportReport
from tests.web import submit_form

PASSWORD = "bàn phím cơ màu xanh lá 42"

# A province with a department and a commune office below it, and another province.
AGENCY_TREE = {
    "agencies": [
        {"code": "000.00.00.H22", "name": "UBND tỉnh Quảng Ninh", "level": "province"},
        {
            "code": "000.00.01.H22",
            "name": "Sở Tư pháp tỉnh Quảng Ninh",
            "level": "department",
            "parent_code": "000.00.00.H22",
        },
        {
            "code": "000.01.01.H22",
            "name": "UBND phường Hạ Long",
            "level": "commune",
            "parent_code": "000.00.01.H22",
        },
        {"code": "000.00.00.H29", "name": "UBND thành phố Hà Nội", "level": "province"},
    ]
}


def make_agencies() -> dict[str, int]:
    import_agencies(AGENCY_TREE, ImportReport(), "test")
    db.session.commit()
    return {a.code: a.id for a in db.session.scalars(sa.select(Agency))}


def make_staff(
    role: str = "agent",
    *,
    email: str | None = None,
    full_name: str = "Nguyễn Văn Hỗ Trợ",
    agencies: tuple[str, ...] = (),
    enrolled: bool = True,
) -> StaffUser:
    staff = service.create_staff_from_cli(
        email=email or f"{role}@dichvucong.example.vn",
        full_name=full_name,
        role=role,
        password=PASSWORD,
        agency_codes=list(agencies),
    )
    if enrolled:
        staff.totp_confirmed_at = datetime.now(UTC)
        db.session.commit()
    return staff


def next_code(staff: StaffUser) -> str:
    """A valid code the portal has not accepted yet (codes are single-use). The previous
    step is left out near the end of a 30 s step: the portal, checking a moment later,
    would already see it fall out of its window."""
    db.session.refresh(staff)
    totp = pyotp.TOTP(staff.totp_secret)
    now = datetime.now(UTC)
    current = totp.timecode(now)
    near_the_end = totp.interval - now.timestamp() % totp.interval < 5
    for step in (current, current + 1) if near_the_end else (current - 1, current, current + 1):
        if staff.totp_last_step is None or step > staff.totp_last_step:
            return totp.generate_otp(step)
    raise AssertionError("no unused code in the accepted window")


def sign_in_staff(client, staff: StaffUser):
    """The whole sign-in through the pages; returns the response of the last step."""
    first = submit_form(client, "/quan-tri/dang-nhap", {"email": staff.email, "password": PASSWORD})
    assert first.status_code == 302, first.get_data(as_text=True)
    step = first.headers["Location"]
    response = submit_form(client, step, {"code": next_code(staff)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response
