"""Outbound deliveries: signed, the same id on every try, retried, never lost, never doubled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.dossiers.models import Delivery
from portal.extensions import db
from portal.sync import deliveries
from tests.dossiers.support import make_filed, make_service, make_user
from tests.sync.partner_server import PartnerServer
from tests.sync.support import make_partner

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_retries(app):
    saved = {k: app.config[k] for k in ("SYNC_RETRY_BASE_SECONDS", "SYNC_DELIVERY_TIMEOUT")}
    app.config.update(SYNC_RETRY_BASE_SECONDS=0, SYNC_DELIVERY_TIMEOUT=5)
    yield
    app.config.update(saved)


def _file_one(**kwargs) -> dict:
    service_id, keys = make_service()
    user = make_user(**kwargs)
    return make_filed(user, service_id, keys)


def _delivery() -> Delivery:
    db.session.expire_all()
    return db.session.scalars(sa.select(Delivery)).one()


def _sweep_until_done(limit: int = 20) -> None:
    for _ in range(limit):
        deliveries.sweep()
        if _delivery().state in ("delivered", "failed"):
            return


def test_a_partner_failing_the_first_tries_gets_exactly_one_accepted_delivery_with_a_stable_id(
    app, jobs, fast_retries
):
    secret = make_partner("G15")
    with PartnerServer("G15", secret, fail_first=3) as partner:
        from portal.sync import partners

        partners.set_partner("G15", base_url=partner.url)
        filed = _file_one()
        jobs()
        _sweep_until_done()
        delivery = _delivery()
        assert delivery.state == "delivered" and delivery.attempts == 4 and delivery.partner_code == "G15"
        assert [r["delivery"] for r in partner.received] == [delivery.id] * 4
        assert partner.accepted == [delivery.id]
        assert all(
            r["signed"] and r["partner"] == "G15" and r["path"] == "/partner-api/dossiers"
            for r in partner.received
        )
        body = partner.received[-1]["body"]
        assert body["dossier_code"] == filed["code"] and body["agency_code"] == "000.00.00.G15"
        assert body["procedure_code"] == "9.000001" and body["applicant"]["name"] == "Trần Thị Bình"
        assert body["form_data"]["request_details"] and len(body["attachments"]) == 1
        deliveries.sweep()
        assert partner.accepted == [delivery.id]  # a delivered row is never sent again


def test_an_attachment_link_downloads_the_file_and_refuses_expired_or_tampered_links(app, jobs, fast_retries):
    from tests.dossiers.support import pdf_bytes

    secret = make_partner("G15")
    with PartnerServer("G15", secret) as partner:
        from portal.sync import partners

        partners.set_partner("G15", base_url=partner.url)
        _file_one()
        jobs()
        _sweep_until_done()
        (attachment,) = partner.received[-1]["body"]["attachments"]
    client = app.test_client()
    path = attachment["url"].split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 200 and response.data == pdf_bytes()
    assert response.headers["Cache-Control"] == "private, no-store"
    token = path.rsplit("/", 1)[1]
    tampered = client.get("/api/sync/files/" + token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert tampered.status_code == 401 and tampered.get_json()["errors"][0]["error"] == "InvalidSignature"
    from portal.sync import signing

    expired = signing.file_token(1, int(time.time()) - 1)
    answer = client.get("/api/sync/files/" + expired)
    assert answer.status_code == 410 and answer.get_json()["errors"][0]["error"] == "LinkExpired"
    assert client.get("/api/sync/files/not-a-token").status_code == 401


def test_retries_grow_and_stop_after_a_day_then_staff_retry_from_the_command_line(app, jobs):
    secret = make_partner("G15")
    with PartnerServer("G15", secret, fail_first=10**6) as partner:
        from portal.sync import partners

        partners.set_partner("G15", base_url=partner.url)
        _file_one()
        jobs()
        delays = []
        for _ in range(6):
            db.session.execute(sa.update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            before = utcnow()
            deliveries.sweep()
            delays.append(
                (
                    _delivery().next_attempt_at.replace(tzinfo=None) - before.replace(tzinfo=None)
                ).total_seconds()
            )
        assert all(later > earlier for earlier, later in zip(delays[:4], delays[1:5], strict=True))
        assert delays[0] >= 59
        # A day later the delivery is given up and shown as failed.
        db.session.execute(
            sa.update(Delivery).values(created_at=utcnow() - timedelta(hours=25), next_attempt_at=utcnow())
        )
        db.session.commit()
        deliveries.sweep()
        assert _delivery().state == "failed"
        runner = app.test_cli_runner()
        listed = runner.invoke(args=["deliveries", "list", "--state", "failed"])
        assert _delivery().id in listed.output and "failed" in listed.output
        partner.fail_first = 0
        retried = runner.invoke(args=["deliveries", "retry", "--all-failed"])
        assert retried.exit_code == 0, retried.output
        jobs()
        deliveries.sweep()
        assert _delivery().state == "delivered" and partner.accepted == [_delivery().id]


def test_a_worker_killed_in_the_middle_of_a_delivery_delivers_after_restart(app, jobs, fast_retries):
    secret = make_partner("G15")
    with PartnerServer("G15", secret) as partner:
        from portal.sync import partners

        partners.set_partner("G15", base_url=partner.url)
        _file_one()
        jobs()
        # Filing made the first try; this test starts over with the worker process.
        db.session.execute(
            sa.update(Delivery).values(
                state="pending", next_attempt_at=utcnow(), locked_until=None, attempts=0
            )
        )
        db.session.commit()
        partner.received.clear()
        partner.accepted.clear()
        partner.hold_first = True
        overrides = {
            "SECRET_KEY": app.config["SECRET_KEY"],
            "INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "UPLOAD_DIR": app.config["UPLOAD_DIR"],
            "SYNC_DELIVERY_LEASE_SECONDS": 2,
            "SYNC_DELIVERY_TIMEOUT": 30,
        }
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.worker_process", json.dumps(overrides)], cwd=REPO, env=env
        )
        try:
            assert partner.held.wait(30), "the worker never called the partner"
            worker.kill()  # SIGKILL: no clean-up of any kind
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        delivery = _delivery()
        assert delivery.state == "sending" and partner.accepted == []
        deliveries.sweep()
        assert _delivery().state == "sending"  # its lease still runs: nobody takes it over yet
        time.sleep(2.2)
        deliveries.sweep()
        delivery = _delivery()
        assert delivery.state == "delivered"
        assert [r["delivery"] for r in partner.received] == [delivery.id, delivery.id]
        assert partner.accepted == [delivery.id]


def test_two_workers_never_deliver_the_same_record_twice(app, jobs, fast_retries):
    secret = make_partner("G15")
    with PartnerServer("G15", secret) as partner:
        from portal.sync import partners

        partners.set_partner("G15", base_url=partner.url)
        _file_one()
        jobs()
        deliveries.sweep()
        first = _delivery()
        for n in range(24):
            db.session.add(
                Delivery(
                    id=f"00000000-0000-4000-8000-{n:012d}",
                    dossier_id=first.dossier_id,
                    agency_code=first.agency_code,
                    state="pending",
                    next_attempt_at=utcnow(),
                )
            )
        db.session.commit()
        partner.received.clear()
        partner.accepted.clear()
        partner.delay = 0.02
        errors = []

        def worker():
            try:
                with app.app_context():
                    deliveries.sweep(limit=3)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        ids = [r["delivery"] for r in partner.received]
        assert len(ids) == len(set(ids)) == 24
        db.session.expire_all()
        states = db.session.scalars(sa.select(Delivery.state)).all()
        assert states == ["delivered"] * 25


def test_a_partner_that_reads_the_pull_feed_gets_no_calls(app, jobs):
    make_partner("G15")
    _file_one()
    jobs()
    deliveries.sweep()
    delivery = _delivery()
    assert delivery.state in ("feed", "pending")
    db.session.execute(sa.update(Delivery).values(state="pending", next_attempt_at=utcnow()))
    db.session.commit()
    deliveries.sweep()
    assert _delivery().state == "feed" and _delivery().partner_code == "G15"


def test_an_unreachable_partner_is_retried_later(app, jobs, fast_retries):
    from portal.sync import partners

    make_partner("G15", base_url="http://127.0.0.1:9")  # nothing listens on the discard port
    _file_one()
    jobs()
    deliveries.sweep()
    delivery = _delivery()
    assert delivery.state == "pending" and delivery.attempts >= 1 and "no answer" in delivery.last_error
    assert partners.find_active("G15") is not None  # the partner stays on
