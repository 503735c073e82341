"""Rotating SECRET_KEY: partner secrets and signed file links outlive it while the old key is
in SECRET_KEY_FALLBACKS, and ``flask partners reencrypt`` lets the old key go."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.sync import partners, signing
from portal.sync.models import Partner, PartnerSecret
from tests.sync.support import FEED_PATH, make_partner, signed


def new_key() -> str:
    return secrets.token_hex(32)


def _error(response) -> str:
    assert response.status_code == 401, response.get_data(as_text=True)
    return response.get_json()["errors"][0]["error"]


def _stored(code: str) -> dict[int, str]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(PartnerSecret).join(Partner).where(Partner.code == code))
    return {s.id: s.encrypted for s in rows}


def test_a_partner_whose_secret_was_stored_under_the_old_key_still_signs_in_while_it_is_a_fallback(
    app, rekey
):
    old = app.config["SECRET_KEY"]
    secret = make_partner()
    rekey(new_key(), old)
    assert app.test_client().get(FEED_PATH, headers=signed(b"", secret)).status_code == 200


def test_without_the_old_key_the_partner_is_refused_as_an_invalid_signature_even_after_it_was_read(
    app, rekey
):
    old, new = app.config["SECRET_KEY"], new_key()
    secret = make_partner()
    client = app.test_client()
    rekey(new, old)
    assert client.get(FEED_PATH, headers=signed(b"", secret)).status_code == 200  # read and remembered
    rekey(new)
    assert _error(client.get(FEED_PATH, headers=signed(b"", secret))) == "InvalidSignature"


def test_new_secrets_are_encrypted_under_the_current_key_only(app, rekey):
    old, new = app.config["SECRET_KEY"], new_key()
    rekey(new, old)
    secret = make_partner()
    rekey(old)  # the new key is needed to read it: it was not written under the old one
    assert _error(app.test_client().get(FEED_PATH, headers=signed(b"", secret))) == "InvalidSignature"
    rekey(new)
    assert app.test_client().get(FEED_PATH, headers=signed(b"", secret)).status_code == 200


def test_reencrypt_moves_every_secret_to_the_new_key_so_the_fallback_can_be_dropped(app, rekey):
    old, new = app.config["SECRET_KEY"], new_key()
    first = make_partner("H56")
    second = partners.rotate_secret("H56")
    other = make_partner("G15")
    partners.revoke("G15", secret_id=next(iter(_stored("G15"))))
    before = {**_stored("H56"), **_stored("G15")}
    rekey(new, old)

    result = app.test_cli_runner().invoke(args=["partners", "reencrypt"])

    assert result.exit_code == 0, result.output
    assert result.output == "re-encrypted 3 secrets under the current SECRET_KEY\n"
    after = {**_stored("H56"), **_stored("G15")}
    assert after.keys() == before.keys() and all(after[i] != before[i] for i in before)
    rekey(new)
    client = app.test_client()
    for secret in (first, second):
        assert client.get(FEED_PATH, headers=signed(b"", secret)).status_code == 200
    assert _error(client.get(FEED_PATH, headers=signed(b"", other, "G15"))) == "InvalidSignature"  # revoked
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "partner.reencrypt").order_by(AuditEntry.id)
    ).all()
    assert [(e.changes["code"], len(e.changes["reencrypted"]), e.actor_label) for e in entries] == [
        ("G15", 1, "flask partners"),
        ("H56", 2, "flask partners"),
    ]
    written = repr([e.changes for e in entries])
    assert first not in written and second not in written and other not in written


def test_reencrypt_lists_the_secrets_no_key_reads_by_partner_and_id_and_never_prints_a_secret(app, rekey):
    lost, old, new = app.config["SECRET_KEY"], new_key(), new_key()
    unreadable = make_partner("H56")
    (unreadable_id,) = _stored("H56")
    lost_token = _stored("H56")[unreadable_id]
    rekey(old)
    readable = make_partner("G15")
    rekey(new, old)

    result = app.test_cli_runner().invoke(args=["partners", "reencrypt"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "re-encrypted 1 secrets under the current SECRET_KEY"
    assert lines[1] == "1 secrets could not be read with any key:"
    assert lines[2].startswith(f"  H56 secret {unreadable_id}: revoke it") and len(lines) == 3
    for secret in (unreadable, readable):
        assert secret not in result.output and secret[4:] not in result.output
    assert _stored("H56")[unreadable_id] == lost_token  # left as it was, for the old key
    rekey(new)
    assert app.test_client().get(FEED_PATH, headers=signed(b"", readable, "G15")).status_code == 200
    rekey(lost)
    assert app.test_client().get(FEED_PATH, headers=signed(b"", unreadable)).status_code == 200
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "partner.reencrypt"))
    assert sorted((e.changes for e in entries), key=lambda c: c["code"]) == [
        {"code": "G15", "reencrypted": list(_stored("G15")), "unreadable": []},
        {"code": "H56", "reencrypted": [], "unreadable": [unreadable_id]},
    ]


def test_reencrypt_is_one_transaction_and_changes_nothing_when_it_fails_part_way(app, rekey, monkeypatch):
    old = app.config["SECRET_KEY"]
    make_partner("G15")
    make_partner("H56")
    before = {**_stored("G15"), **_stored("H56")}
    rekey(new_key(), old)
    calls, reencrypt = [], signing.reencrypt

    def fail_on_the_second(token: str) -> str | None:
        calls.append(token)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return reencrypt(token)

    monkeypatch.setattr(signing, "reencrypt", fail_on_the_second)
    with pytest.raises(RuntimeError):
        partners.reencrypt_secrets()

    assert {**_stored("G15"), **_stored("H56")} == before
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "partner.reencrypt")
        )
        == 0
    )


def _deliver_one(partner, run_jobs) -> dict:
    """File a dossier for G15 and send it to the partner server; the last request it got."""
    from portal.dossiers.models import Delivery
    from portal.sync import deliveries
    from tests.dossiers.support import make_filed, make_service, make_user

    partners.set_partner("G15", base_url=partner.url)
    service_id, keys = make_service()
    make_filed(make_user(), service_id, keys)
    run_jobs()
    for _ in range(5):
        deliveries.sweep()
        db.session.expire_all()
        if db.session.scalars(sa.select(Delivery.state)).one() == "delivered":
            break
    return partner.received[-1]


def test_deliveries_after_the_rotation_are_signed_with_a_secret_stored_under_the_old_key(app, jobs, rekey):
    from tests.sync.partner_server import PartnerServer

    old = app.config["SECRET_KEY"]
    secret = make_partner("G15")
    rekey(new_key(), old)
    with PartnerServer("G15", secret) as partner:
        received = _deliver_one(partner, jobs)
    assert received["signed"] and partner.accepted == [received["delivery"]]


def test_a_file_link_sent_before_the_rotation_still_downloads_while_the_old_key_is_a_fallback(
    app, jobs, rekey
):
    from tests.dossiers.support import pdf_bytes
    from tests.sync.partner_server import PartnerServer

    old, new = app.config["SECRET_KEY"], new_key()
    secret = make_partner("G15")
    with PartnerServer("G15", secret) as partner:
        (attachment,) = _deliver_one(partner, jobs)["body"]["attachments"]
    path = "/" + attachment["url"].split("://", 1)[1].split("/", 1)[1]
    client = app.test_client()

    rekey(new, old)
    response = client.get(path)
    assert response.status_code == 200 and response.data == pdf_bytes()
    rekey(new)
    assert _error(client.get(path)) == "InvalidSignature"
