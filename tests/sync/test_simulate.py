"""``flask sync simulate`` signs and sends a realistic stream to a running portal."""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa
from werkzeug.serving import make_server

from portal.dossiers.models import Dossier, DossierEvent
from portal.extensions import db
from tests.sync.support import make_partner


def test_simulate_sends_a_disordered_stream_with_duplicates_that_a_running_portal_takes_whole(app, jobs):
    make_partner()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = app.test_cli_runner().invoke(
            args=[
                "sync",
                "simulate",
                "--partner",
                "H56",
                "--dossiers",
                "30",
                "--events",
                "200",
                "--url",
                url,
                "--batch",
                "50",
                "--seed",
                "3",
            ]
        )
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    counts = summary["results"]
    assert summary["sent"] > 200 and counts["duplicate"] == summary["sent"] - 200
    assert counts["applied"] + counts["stale"] == 200 and "rejected" not in counts
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 30
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DossierEvent)) == 200
    channels = set(db.session.scalars(sa.select(Dossier.channel)))
    assert channels == {1}


def test_simulate_refuses_a_partner_it_cannot_sign_for(app):
    result = app.test_cli_runner().invoke(
        args=["sync", "simulate", "--partner", "H99", "--url", "http://127.0.0.1:9"]
    )
    assert result.exit_code != 0 and "H99" in result.output
