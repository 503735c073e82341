"""Signatures: every way a request can be unsigned, mis-signed, late, early or revoked."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from portal.dossiers.models import Dossier, DossierEvent
from portal.extensions import db
from portal.sync import partners, signing
from portal.sync.models import PartnerSecret
from tests.sync.support import AGENCY, EVENTS_PATH, FEED_PATH, block, count, event, make_partner, signed

BODY = json.dumps({"events": [event("H56-1", f"{AGENCY}-250102-0001", 2, 0, dossier=block())]}).encode()


def _error(response) -> str:
    assert response.status_code == 401, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["status_code"] == 401 and len(payload["errors"]) == 1
    assert set(payload["errors"][0]) == {"error", "message"}
    return payload["errors"][0]["error"]


def _nothing_stored() -> None:
    assert count(Dossier) == 0 and count(DossierEvent) == 0


def test_a_correctly_signed_batch_is_accepted(app, jobs):
    secret = make_partner()
    response = app.test_client().post(EVENTS_PATH, data=BODY, headers=signed(BODY, secret))
    assert response.status_code == 200


def test_a_request_without_any_signature_headers_is_refused_and_stores_nothing(app):
    make_partner()
    response = app.test_client().post(EVENTS_PATH, data=BODY, content_type="application/json")
    assert _error(response) == "UnknownPartner"
    _nothing_stored()


def test_a_missing_signature_is_invalid(app):
    secret = make_partner()
    headers = signed(BODY, secret)
    del headers[signing.HEADER_SIGNATURE]
    assert _error(app.test_client().post(EVENTS_PATH, data=BODY, headers=headers)) == "InvalidSignature"
    _nothing_stored()


@pytest.mark.parametrize(
    "signature",
    ["v1=" + "0" * 64, "v1=", "v0=abc", "garbage", "v1=" + "g" * 64, ",,,,", "v1=" + "a" * 10000],
)
def test_a_wrong_signature_is_refused_and_stores_nothing(app, signature):
    secret = make_partner()
    headers = signed(BODY, secret)
    headers[signing.HEADER_SIGNATURE] = signature
    assert _error(app.test_client().post(EVENTS_PATH, data=BODY, headers=headers)) == "InvalidSignature"
    _nothing_stored()


def test_a_body_changed_after_signing_is_refused(app):
    secret = make_partner()
    tampered = BODY.replace(b'"status": 2', b'"status": 10')
    assert tampered != BODY
    response = app.test_client().post(EVENTS_PATH, data=tampered, headers=signed(BODY, secret))
    assert _error(response) == "InvalidSignature"
    _nothing_stored()


def test_a_signature_made_with_another_partners_secret_is_refused(app):
    make_partner()
    other = make_partner("G17")
    assert (
        _error(app.test_client().post(EVENTS_PATH, data=BODY, headers=signed(BODY, other)))
        == "InvalidSignature"
    )


@pytest.mark.parametrize("offset", [-301, 301, -3600, 10**6])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed_correctly(app, offset):
    secret = make_partner()
    headers = signed(BODY, secret, at=time.time() + offset)
    assert _error(app.test_client().post(EVENTS_PATH, data=BODY, headers=headers)) == "StaleTimestamp"
    _nothing_stored()


@pytest.mark.parametrize("value", ["", "abc", "1.5", "-5", "99999999999999999999"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(app, value):
    secret = make_partner()
    headers = signed(BODY, secret)
    headers[signing.HEADER_TIMESTAMP] = value
    assert _error(app.test_client().post(EVENTS_PATH, data=BODY, headers=headers)) == "StaleTimestamp"


def test_timestamps_within_five_minutes_either_way_are_accepted(app, jobs):
    secret = make_partner()
    client = app.test_client()
    assert (
        client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, secret, at=time.time() - 290)).status_code
        == 200
    )
    assert (
        client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, secret, at=time.time() + 290)).status_code
        == 200
    )


def test_an_unknown_partner_is_refused(app):
    secret = make_partner()
    headers = signed(BODY, secret, code="H99")
    assert _error(app.test_client().post(EVENTS_PATH, data=BODY, headers=headers)) == "UnknownPartner"


def test_after_rotation_both_secrets_work_until_the_old_one_is_revoked(app, jobs):
    old = make_partner()
    new = partners.rotate_secret("H56")
    client = app.test_client()
    assert client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, old)).status_code == 200
    assert client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, new)).status_code == 200
    # Several v1 values: any match is enough (a partner mid-rotation signs with both).
    both = signed(BODY, old)
    both[signing.HEADER_SIGNATURE] = signing.signature_header(
        ["wrong-secret", new], both[signing.HEADER_TIMESTAMP], BODY
    )
    assert client.post(EVENTS_PATH, data=BODY, headers=both).status_code == 200
    with pytest.raises(Exception, match="active secrets"):
        partners.rotate_secret("H56")
    old_id = db.session.scalar(sa.select(sa.func.min(PartnerSecret.id)))
    partners.revoke("H56", secret_id=old_id)
    assert _error(client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, old))) == "InvalidSignature"
    assert client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, new)).status_code == 200


def test_a_revoked_partner_is_refused_on_its_next_request(app, jobs):
    secret = make_partner()
    client = app.test_client()
    assert client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, secret)).status_code == 200
    partners.revoke("H56")
    assert _error(client.post(EVENTS_PATH, data=BODY, headers=signed(BODY, secret))) == "UnknownPartner"
    assert _error(client.get(FEED_PATH, headers=signed(b"", secret))) == "UnknownPartner"


def test_secrets_are_stored_encrypted_and_never_echoed(app):
    secret = make_partner()
    stored = db.session.scalars(sa.select(PartnerSecret.encrypted)).one()
    assert secret not in stored and secret[4:] not in stored
    headers = signed(BODY, secret)
    headers[signing.HEADER_SIGNATURE] = "v1=" + signing.compute(
        "guess", headers[signing.HEADER_TIMESTAMP], BODY
    )
    response = app.test_client().post(EVENTS_PATH, data=BODY, headers=headers)
    assert secret not in response.get_data(as_text=True)
    assert response.get_json()["errors"][0]["message"] == "signature does not match"


def test_the_pull_feed_is_signed_with_an_empty_body(app):
    secret = make_partner()
    client = app.test_client()
    assert client.get(FEED_PATH, headers=signed(b"", secret)).status_code == 200
    assert _error(client.get(FEED_PATH)) == "UnknownPartner"
    assert _error(client.get(FEED_PATH, headers=signed(b"x", secret))) == "InvalidSignature"


def test_a_replayed_signed_request_changes_nothing(app, jobs):
    secret = make_partner()
    headers = signed(BODY, secret)
    client = app.test_client()
    first = client.post(EVENTS_PATH, data=BODY, headers=headers).get_json()
    replay = client.post(EVENTS_PATH, data=BODY, headers=headers).get_json()
    assert [r["result"] for r in first["results"]] == ["applied"]
    assert [r["result"] for r in replay["results"]] == ["duplicate"]
    assert count(DossierEvent) == 1


def test_a_partner_flooding_the_api_is_limited_per_partner(_tmp_root):
    from tests.conftest import make_test_app

    limited = make_test_app(_tmp_root, "sync-limits", RATELIMIT_ENABLED=True, SYNC_RATE_LIMIT="2 per minute")
    with limited.app_context():
        secret = make_partner()
        client = limited.test_client()
        codes = [client.get(FEED_PATH, headers=signed(b"", secret)).status_code for _ in range(3)]
        other = make_partner("H22")
        assert client.get(FEED_PATH, headers=signed(b"", other, "H22")).status_code == 200
        db.session.remove()
    assert codes == [200, 200, 429]


def test_credential_changes_are_in_the_audit_log_and_no_secret_is_written_there(app):
    import sqlalchemy as sa

    from portal.audit.models import AuditEntry
    from portal.extensions import db
    from portal.sync import partners

    first = partners.create_partner("H40", base_url="https://motcua.example.vn/api")
    second = partners.rotate_secret("H40")
    partners.set_partner("H40", base_url="https://motcua2.example.vn/api")
    partners.revoke("H40")
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == [
        "partner.create",
        "partner.rotate",
        "partner.update",
        "partner.revoke",
    ]
    assert all(e.actor_label == "flask partners" for e in entries)
    assert entries[2].changes["base_url"] == [
        "https://motcua.example.vn/api",
        "https://motcua2.example.vn/api",
    ]
    written = repr([(e.changes, e.actor_label) for e in entries])
    assert first not in written and second not in written
