"""Every back-office route, for every role: allowed or refused as the table below says.

The routes are found by walking ``app.url_map`` for the staff blueprints (``staff``,
``desk``): a new route without a line in ``EXPECTED`` fails the walk, and a route without a
permission in ``portal.staff.roles.ROUTE_PERMISSIONS`` is refused to every role (fail
closed). Anonymous visitors and signed-in citizens are sent to the staff sign-in from every
route. A refusal is a 403 whatever the request carries; "allowed" is anything else (the
page, a redirect after the action, a 400 for the empty form the walk sends).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.feedback.models import Ticket
from tests.dossiers.test_following_pages import sign_in_citizen
from tests.staff.support import sign_in_staff
from tests.staff.world import ROLES, build_world
from tests.web import csrf_token

STAFF_BLUEPRINTS = ("staff", "desk", "deliveries", "partners", "payments_admin", "catalog_admin")
ALL = set(ROLES)
DESK = {"agent", "supervisor", "admin"}
LEADS = {"supervisor", "admin"}
ADMIN = {"admin"}
DELIVERIES = {"supervisor", "agency_officer", "admin"}

# "endpoint METHOD" -> roles allowed.
EXPECTED: dict[str, set[str]] = {
    "staff.home GET": ALL,
    "staff.statistics_page GET": ALL,
    "staff.password GET": ALL,
    "staff.password POST": ALL,
    "staff.accounts GET": ADMIN,
    "staff.create_account POST": ADMIN,
    "staff.account GET": ADMIN,
    "staff.account POST": ADMIN,
    "staff.reset_two_factor POST": ADMIN,
    "staff.reset_password POST": ADMIN,
    "staff.audit GET": LEADS,
    "desk.queue GET": ALL,
    "desk.ticket GET": ALL,
    "desk.attachment GET": ALL,
    "desk.reply POST": ALL,
    "desk.note POST": ALL,
    "desk.assign POST": ALL,
    "desk.status POST": ALL,
    "desk.merge POST": DESK,
    "desk.link POST": DESK,
    "desk.forward POST": DESK,
    "desk.propose POST": DESK,
    "desk.calls GET": DESK,
    "desk.calls POST": DESK,
    "desk.canned GET": ALL,
    "desk.canned POST": LEADS,
    "desk.canned_edit GET": LEADS,
    "desk.canned_edit POST": LEADS,
    "desk.publications GET": DESK,
    "desk.publication GET": DESK,
    "desk.publication POST": LEADS,
    "deliveries.failed GET": DELIVERIES,
    "deliveries.delivery GET": DELIVERIES,
    "deliveries.retry POST": DELIVERIES,
    "deliveries.retry_selected POST": DELIVERIES,
    "partners.credentials GET": ADMIN,
    "partners.create POST": ADMIN,
    "partners.rotate POST": ADMIN,
    "partners.revoke_secret POST": ADMIN,
    "partners.switch POST": ADMIN,
    "payments_admin.search GET": ALL,
    "payments_admin.payment GET": ALL,
    "payments_admin.receipt GET": ALL,
    "payments_admin.refund POST": LEADS,
    "payments_admin.reconciliation GET": LEADS,
    "payments_admin.reconciliation POST": LEADS,
    "payments_admin.reconciliation_csv GET": LEADS,
    "catalog_admin.imports GET": ADMIN,
    "catalog_admin.start_import POST": ADMIN,
    "catalog_admin.import_run GET": ADMIN,
}
# Tested on its own (it ends the session the walk uses).
SIGN_OUT = "staff.sign_out POST"

ARGUMENT = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def staff_rules(app) -> list[tuple[str, object, str]]:
    """(key, rule, method) for every GET and POST of the staff blueprints."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] not in STAFF_BLUEPRINTS:
            continue
        for method in ("GET", "POST"):
            if method in rule.methods:
                found.append((f"{rule.endpoint} {method}", rule, method))
    return sorted(found, key=lambda item: item[0])


def path_of(rule, world: dict) -> str:
    values = {
        "staff_id": world["colleague"].id,
        "ticket_id": world["ticket"],
        "canned_id": world["canned"],
        "publication_id": world["publication"],
        "delivery_id": world["delivery"],
        "code": world["partner"],
        "secret_id": world["secret_id"],
        "payment_id": world["payment"],
        "import_id": world["catalog_import"],
    }
    return ARGUMENT.sub(lambda m: str(values[m.group(1)]), rule.rule)


@pytest.fixture
def world(app, jobs):
    return build_world(app)


def test_every_staff_route_has_a_line_in_the_matrix(app):
    keys = {key for key, _rule, _method in staff_rules(app)}
    assert keys == set(EXPECTED) | {SIGN_OUT}, (
        f"add to EXPECTED: {keys - set(EXPECTED) - {SIGN_OUT}}; gone: {set(EXPECTED) - keys}"
    )
    assert len(keys) >= 50


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_the_matrix_allows(app, world, role):
    client = app.test_client()
    sign_in_staff(client, world["people"][role])
    token = csrf_token(client.get("/quan-tri/").get_data(as_text=True))
    # Officers may take a ticket themselves only: the walk assigns to the one walking.
    data = {"csrf_token": token, "assignee": str(world["people"][role].id)}
    wrong = []
    for key, rule, method in staff_rules(app):
        if key == SIGN_OUT:
            continue
        path = path_of(rule, world)
        response = client.get(path) if method == "GET" else client.post(path, data=data)
        allowed = role in EXPECTED[key]
        if response.status_code >= 500:
            wrong.append(f"{role} broke {method} {path} ({response.status_code})")
        if allowed and response.status_code in (401, 403):
            wrong.append(f"{role} refused {method} {path} ({response.status_code})")
        if allowed and response.status_code == 302 and "/quan-tri/dang-nhap" in response.headers["Location"]:
            wrong.append(f"{role} signed out by {method} {path}")
        if not allowed and response.status_code != 403:
            wrong.append(f"{role} was not refused {method} {path} ({response.status_code})")
    assert not wrong, "\n".join(wrong)
    assert client.post("/quan-tri/dang-xuat", data={"csrf_token": token}).status_code == 302
    assert client.get("/quan-tri/").status_code == 302


@pytest.mark.parametrize("who", ["anonymous", "citizen"])
def test_visitors_without_a_staff_session_are_sent_to_the_staff_sign_in_from_every_route(app, world, who):
    client = app.test_client()
    if who == "citizen":
        sign_in_citizen(client, full_name="Công Dân", email="congdan@example.vn", phone="0987654321")
    token = csrf_token(client.get("/quan-tri/dang-nhap").get_data(as_text=True))
    wrong = []
    for key, rule, method in staff_rules(app):
        path = path_of(rule, world)
        response = client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token})
        if response.status_code != 302 or "/quan-tri/dang-nhap" not in response.headers["Location"]:
            wrong.append(f"{who}: {key} {path} answered {response.status_code}")
    assert not wrong, "\n".join(wrong)
    ticket = db.session.get(Ticket, world["ticket"])
    db.session.refresh(ticket)
    assert ticket.status == "answered"


def test_a_staff_route_without_a_declared_permission_is_refused_to_every_role(_tmp_root):
    from tests.conftest import _delete_all_rows, make_test_app

    leaky = make_test_app(_tmp_root, "staff-matrix-leak", JOBS_MODE="inline")
    leaky.add_url_rule(
        "/quan-tri/quen-khai-bao", endpoint="staff.forgotten_for_test", view_func=lambda: "secret"
    )
    try:
        with leaky.app_context():
            world = build_world(leaky)
            for role in ROLES:
                client = leaky.test_client()
                sign_in_staff(client, world["people"][role])
                assert client.get("/quan-tri/quen-khai-bao").status_code == 403
            db.session.remove()
    finally:
        _delete_all_rows(leaky)


# ------------------------------------------------------------------------ agency scoping


def test_an_agency_officer_sees_tickets_of_their_agency_subtree_only(app, world):
    officer = world["people"]["agency_officer"]
    client = app.test_client()
    sign_in_staff(client, officer)
    token = csrf_token(client.get("/quan-tri/").get_data(as_text=True))
    assert client.get(f"/quan-tri/phan-anh/{world['ticket']}").status_code == 200
    queue = client.get("/quan-tri/phan-anh/?queue=all").get_data(as_text=True)
    inside = db.session.get(Ticket, world["ticket"]).number
    outside = db.session.get(Ticket, world["outside"]).number
    assert inside in queue and outside not in queue
    for suffix in ("", "/tep"):
        assert client.get(f"/quan-tri/phan-anh/{world['outside']}{suffix}").status_code == 404
    for action, data in (
        ("tra-loi", {"body": "Trả lời thử", "then": "answered"}),
        ("ghi-chu", {"body": "Ghi chú thử"}),
        ("phan-cong", {"assignee": str(officer.id)}),
        ("trang-thai", {"status": "closed"}),
    ):
        response = client.post(
            f"/quan-tri/phan-anh/{world['outside']}/{action}", data={**data, "csrf_token": token}
        )
        assert response.status_code == 404, action
    db.session.expire_all()
    other = db.session.get(Ticket, world["outside"])
    assert other.status == "new" and other.assignee_id is None


def test_an_agency_officer_may_take_a_ticket_but_not_give_it_to_someone_else(app, world):
    officer = world["people"]["agency_officer"]
    client = app.test_client()
    sign_in_staff(client, officer)
    token = csrf_token(client.get("/quan-tri/").get_data(as_text=True))
    path = f"/quan-tri/phan-anh/{world['ticket']}/phan-cong"
    assert (
        client.post(path, data={"csrf_token": token, "assignee": str(world["colleague"].id)}).status_code
        == 403
    )
    assert client.post(path, data={"csrf_token": token, "assignee": str(officer.id)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, world["ticket"]).assignee_id == officer.id


def test_an_officer_search_never_finds_tickets_outside_their_agencies(app, world):
    client = app.test_client()
    sign_in_staff(client, world["people"]["agency_officer"])
    outside = db.session.get(Ticket, world["outside"]).number
    page = client.get(f"/quan-tri/phan-anh/?queue=all&q={outside}").get_data(as_text=True)
    assert f'href="/quan-tri/phan-anh/{world["outside"]}"' not in page and "Phản ánh ở Hà Nội" not in page
    inside = db.session.get(Ticket, world["ticket"]).number
    page = client.get(f"/quan-tri/phan-anh/?queue=all&q={inside}").get_data(as_text=True)
    assert f'href="/quan-tri/phan-anh/{world["ticket"]}"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 2


def test_the_scope_includes_agencies_below_below(app, world):
    from portal.staff.scope import subtree_ids

    ids = subtree_ids({world["agencies"]["000.00.00.H22"]})
    assert ids == {world["agencies"][c] for c in ("000.00.00.H22", "000.00.01.H22", "000.01.01.H22")}
