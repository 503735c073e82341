"""The partner credentials screen (administrators): a new secret is shown once, on its own
response, never cached, logged or audited; every change is audited with what changed."""

from __future__ import annotations

import logging

from portal.sync import partners
from tests.staff.backoffice_support import audit, signed_in

PAGE = "/quan-tri/doi-tac/"


def _secret_from(html: str) -> str:
    start = html.index('value="pss_') + len('value="')
    return html[start : html.index('"', start)]


def test_a_new_partner_s_secret_is_shown_once_not_cached_and_never_logged_or_audited(app, caplog):
    caplog.set_level(logging.DEBUG)
    client, staff, token = signed_in(app, "admin")
    response = client.post(
        PAGE,
        data={
            "csrf_token": token,
            "code": "H56",
            "name": "Một cửa Quảng Ninh",
            "base_url": "https://h56.example.vn/api",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    secret = _secret_from(response.get_data(as_text=True))
    assert partners.find_caller("H56").secrets == (secret,)
    listing = client.get(PAGE).get_data(as_text=True)
    assert "H56" in listing and "https://h56.example.vn/api" in listing and secret not in listing
    (entry,) = audit("partner.create")
    assert entry.actor_id == staff.id and entry.changes["code"] == "H56"
    assert secret not in str(entry.changes)
    assert all(
        secret not in record.getMessage() and secret not in str(record.__dict__) for record in caplog.records
    )


def test_rotating_shows_the_new_secret_once_and_a_third_secret_is_refused_until_the_old_is_revoked(app):
    old = partners.create_partner("H56")
    client, _staff, token = signed_in(app, "admin")
    response = client.post(f"{PAGE}H56/khoa-moi", data={"csrf_token": token})
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    new = _secret_from(response.get_data(as_text=True))
    assert set(partners.find_caller("H56").secrets) == {old, new}
    replay = client.post(f"{PAGE}H56/khoa-moi", data={"csrf_token": token})
    assert replay.status_code == 409 and "pss_" not in replay.get_data(as_text=True)
    (rotated,) = audit("partner.rotate")
    assert new not in str(rotated.changes) and rotated.changes["active_secrets"] == 2
    old_id = partners.list_partners()[0]["secrets"][0]["id"]
    assert client.post(f"{PAGE}H56/khoa/{old_id}/thu-hoi", data={"csrf_token": token}).status_code == 302
    assert partners.find_caller("H56").secrets == (new,)
    (revoked,) = audit("partner.revoke_secret")
    assert revoked.changes == {"code": "H56", "secret_id": old_id}


def test_the_only_active_secret_cannot_be_revoked_and_unknown_secrets_or_partners_are_not_found(app):
    partners.create_partner("H56")
    secret_id = partners.list_partners()[0]["secrets"][0]["id"]
    client, _staff, token = signed_in(app, "admin")
    last = client.post(f"{PAGE}H56/khoa/{secret_id}/thu-hoi", data={"csrf_token": token})
    assert last.status_code == 409
    assert (
        client.post(f"{PAGE}H56/khoa/{secret_id + 99}/thu-hoi", data={"csrf_token": token}).status_code == 404
    )
    assert client.post(f"{PAGE}H99/khoa-moi", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(f"{PAGE}H99/trang-thai", data={"csrf_token": token, "active": "off"}).status_code == 404
    )
    assert len(partners.find_caller("H56").secrets) == 1 and audit("partner.revoke_secret") == []


def test_turning_a_partner_off_and_on_is_audited_and_takes_effect(app):
    partners.create_partner("H56")
    client, staff, token = signed_in(app, "admin")
    assert (
        client.post(f"{PAGE}H56/trang-thai", data={"csrf_token": token, "active": "off"}).status_code == 302
    )
    assert partners.find_caller("H56") is None
    assert client.post(f"{PAGE}H56/trang-thai", data={"csrf_token": token, "active": "on"}).status_code == 302
    assert partners.find_caller("H56") is not None
    changes = [e.changes["active"] for e in audit("partner.update")]
    assert changes == [[True, False], [False, True]]
    bad = client.post(f"{PAGE}H56/trang-thai", data={"csrf_token": token, "active": "maybe"})
    assert bad.status_code == 400 and len(audit("partner.update")) == 2


def test_bad_partner_details_are_named_next_to_their_fields_and_nothing_is_created(app):
    client, _staff, token = signed_in(app, "admin")
    for data, field in (
        ({"code": ""}, "code"),
        ({"code": "../../etc"}, "code"),
        ({"code": "H56", "base_url": "javascript:alert(1)"}, "base_url"),
        ({"code": "H56", "base_url": "https://h56.example.vn/api?x=1"}, "base_url"),
    ):
        response = client.post(PAGE, data={"csrf_token": token, **data})
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and f'id="{field}-error"' in html, data
        assert "pss_" not in html
    assert partners.list_partners() == [] and audit("partner.create") == []


def test_creating_a_partner_that_exists_is_refused_next_to_the_code(app):
    partners.create_partner("H56")
    client, _staff, token = signed_in(app, "admin")
    response = client.post(PAGE, data={"csrf_token": token, "code": "H56"})
    assert response.status_code == 409 and 'id="code-error"' in response.get_data(as_text=True)
    assert len(partners.list_partners()[0]["secrets"]) == 1


def test_credential_changes_without_the_csrf_token_are_refused(app):
    partners.create_partner("H56")
    client, _staff, _token = signed_in(app, "admin")
    assert client.post(PAGE, data={"code": "H57"}).status_code == 400
    assert client.post(f"{PAGE}H56/khoa-moi").status_code == 400
    assert client.post(f"{PAGE}H56/trang-thai", data={"active": "off"}).status_code == 400
    assert [p["code"] for p in partners.list_partners()] == ["H56"]
    assert len(partners.list_partners()[0]["secrets"]) == 1 and partners.find_caller("H56") is not None


def test_a_supervisor_cannot_reach_partner_credentials(app):
    partners.create_partner("H56")
    client, _staff, token = signed_in(app, "supervisor")
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}H56/khoa-moi", data={"csrf_token": token}).status_code == 403
    assert len(partners.list_partners()[0]["secrets"]) == 1
