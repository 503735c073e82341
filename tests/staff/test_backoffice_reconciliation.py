"""The reconciliation screen: runs a date range through the reconcile module (in a job),
lists the mismatches of the newest run of each day, and downloads them as CSV."""

from __future__ import annotations

from datetime import datetime

import pytest

from portal.workdays import VN_TZ
from tests.payments.support import make_dossier, pay_at_gateway, start
from tests.staff.backoffice_support import audit, signed_in

PAGE = "/quan-tri/thanh-toan/doi-soat"


@pytest.fixture
def app(gateway_app):
    return gateway_app


def test_a_charge_the_portal_has_not_counted_shows_as_a_mismatch_and_in_the_csv(app, jobs):
    from portal.payments.gateway import get_gateway

    user, dossier = make_dossier()
    payment = start(user, dossier["id"])
    pay_at_gateway(get_gateway("stripe"), payment)  # paid at the gateway, never told to the portal
    today = datetime.now(VN_TZ).date().isoformat()
    client, staff, token = signed_in(app, "supervisor")
    started = client.post(PAGE, data={"csrf_token": token, "day_from": today, "day_to": today})
    assert started.status_code == 302
    (entry,) = audit("reconciliation.start")
    assert entry.actor_id == staff.id and entry.changes == {"from": today, "to": today, "days": 1}
    jobs()
    page = client.get(f"{PAGE}?day_from={today}&day_to={today}").get_data(as_text=True)
    assert f'href="/quan-tri/thanh-toan/{payment["id"]}"' in page
    csv = client.get(f"{PAGE}.csv?day_from={today}&day_to={today}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("day,run_id,kind") and any("missing_here" in line for line in lines[1:])


def test_bad_ranges_are_named_next_to_the_days_and_nothing_is_started(app, jobs):
    client, _staff, token = signed_in(app, "admin")
    for data, field in (
        ({"day_from": "", "day_to": "2025-01-01"}, "day_from"),
        ({"day_from": "2025-02-01", "day_to": "2025-01-01"}, "day_to"),
        ({"day_from": "2025-01-01", "day_to": "2025-03-01"}, "day_to"),
        ({"day_from": "2025-01-01", "day_to": "2999-01-01"}, "day_to"),
        ({"day_from": "2025-01-01", "day_to": "not-a-day"}, "day_to"),
    ):
        response = client.post(PAGE, data={"csrf_token": token, **data})
        assert response.status_code == 400 and f'id="{field}-error"' in response.get_data(as_text=True), data
    assert client.post(PAGE, data={"day_from": "2025-01-01", "day_to": "2025-01-01"}).status_code == 400
    assert client.get(f"{PAGE}.csv?day_from=2025-02-01&day_to=2025-01-01").status_code == 400
    assert audit("reconciliation.start") == []


def test_the_page_opens_on_the_last_seven_days_and_is_closed_to_agents_and_officers(app):
    client, _staff, _token = signed_in(app, "supervisor")
    assert client.get(PAGE).status_code == 200
    for role in ("agent", "agency_officer"):
        other, _s, _t = signed_in(
            app,
            role,
            agencies=("000.00.00.H22",) if role == "agency_officer" else (),
            email=f"{role}@x.example.vn",
        )
        assert other.get(PAGE).status_code == 403 and other.get(f"{PAGE}.csv").status_code == 403
