"""Two batches at once, the pull feed, and the operators' commands."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from portal.dossiers.models import Dossier, DossierEvent
from portal.extensions import db
from tests.sync.support import (
    AGENCY,
    FEED_PATH,
    block,
    count,
    event,
    make_partner,
    post_events,
    signed,
)


def test_two_identical_batches_racing_apply_each_event_once(app, jobs):
    secret = make_partner()
    batch = []
    for n in range(40):
        code = f"{AGENCY}-250102-{n:04d}"
        batch += [event(f"e{n}-1", code, 2, 0, dossier=block()), event(f"e{n}-2", code, 4, 1)]
    answers, errors = [], []
    barrier = threading.Barrier(3)

    def send():
        try:
            with app.app_context():
                client = app.test_client()
                barrier.wait(10)
                answers.append(post_events(client, secret, batch))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and [a.status_code for a in answers] == [200, 200, 200]
    outcomes = sorted(r["result"] for a in answers for r in a.get_json()["results"])
    assert outcomes.count("applied") == 80 and outcomes.count("duplicate") == 160
    assert count(DossierEvent) == 80 and count(Dossier) == 40
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(Dossier.status))) == {4}


# ---------------------------------------------------------------------------- the feed


def _feed(client, secret, code="G15", **params):
    from urllib.parse import urlencode

    path = FEED_PATH + ("?" + urlencode(params) if params else "")
    return client.get(path, headers=signed(b"", secret, code))


def test_the_pull_feed_pages_the_partners_dossiers_in_filing_order_without_skipping_late_ones(app, jobs):
    from portal.dossiers import service
    from tests.dossiers.support import make_draft, make_service, make_user, pdf_bytes, required_key

    service_id, keys = make_service()
    user = make_user()
    # A draft started first but filed last comes last: the feed follows filing, not ids.
    early = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
    codes = []
    for _ in range(3):
        draft = make_draft(user, service_id, files={required_key(keys): pdf_bytes()})
        codes.append(service.submit(user, draft)["code"])
    codes.append(service.submit(user, early)["code"])
    secret = make_partner("G15")
    other = make_partner("H56")
    client = app.test_client()
    first = _feed(client, secret, limit=2).get_json()
    assert [d["dossier_code"] for d in first["items"]] == codes[:2]
    second = _feed(client, secret, after=first["next"], limit=2).get_json()
    assert [d["dossier_code"] for d in second["items"]] == codes[2:]
    assert second["items"][0]["attachments"][0]["url"].startswith(app.config["PUBLIC_URL"])
    empty = _feed(client, secret, after=second["next"]).get_json()
    assert empty == {"items": [], "next": second["next"]}
    assert _feed(client, other, code="H56").get_json()["items"] == []  # not its jurisdiction


def test_the_pull_feed_refuses_bad_cursors_and_limits(app):
    secret = make_partner("G15")
    client = app.test_client()
    for params in (
        {"after": "nonsense!"},
        {"after": "djI6MQ"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "x"},
    ):
        response = _feed(client, secret, **params)
        assert response.status_code == 400, params
        assert response.get_json()["status_code"] == 400


# ---------------------------------------------------------------------------- commands


def test_partner_commands_create_rotate_revoke_and_list_without_showing_secrets(app):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["partners", "create", "H56", "--url", "https://motcua.example.vn/api"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("pss_")
    assert runner.invoke(args=["partners", "create", "H56"]).exit_code != 0
    rotated = runner.invoke(args=["partners", "rotate", "H56"])
    assert rotated.exit_code == 0 and rotated.output.strip().splitlines()[-1] != secret
    assert runner.invoke(args=["partners", "rotate", "H56"]).exit_code != 0  # two are active already
    listed = runner.invoke(args=["partners", "list"])
    assert (
        "H56" in listed.output
        and secret not in listed.output
        and "https://motcua.example.vn/api" in listed.output
    )
    assert runner.invoke(args=["partners", "revoke", "H56", "--secret", "999"]).exit_code != 0
    assert runner.invoke(args=["partners", "revoke", "H56"]).exit_code == 0
    assert " off " in runner.invoke(args=["partners", "list"]).output
    assert runner.invoke(args=["partners", "create", "bad code!"]).exit_code != 0
    assert runner.invoke(args=["partners", "create", "H22", "--url", "ftp://x"]).exit_code != 0
