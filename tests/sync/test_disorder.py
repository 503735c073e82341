"""Disorder: 10,000 events over 1,000 dossiers, shuffled and partly duplicated, leave every
dossier exactly as the ordered replay of the same events does."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.dossiers.models import Dossier, DossierEvent, DossierPause
from portal.extensions import db
from portal.sync import simulate
from tests.dossiers.support import make_service
from tests.sync.support import EVENTS_PATH, make_partner, signed

AGENCY = "000.00.00.G15"
DOSSIERS, EVENTS = 1000, 10_000


def _send(client, secret: str, stream: list[dict]) -> Counter:
    counts: Counter = Counter()
    for i in range(0, len(stream), 500):
        body = json.dumps({"events": stream[i : i + 500]}, ensure_ascii=False).encode()
        response = client.post(EVENTS_PATH, data=body, headers=signed(body, secret, "G15"))
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        counts.update(r["result"] for r in response.get_json()["results"])
    return counts


def _snapshot(suffix: str) -> dict:
    """Every dossier whose code ends with ``suffix``: its row, pauses and history."""
    db.session.expire_all()
    dossiers = db.session.execute(
        sa.select(
            Dossier.id,
            Dossier.code,
            Dossier.status,
            Dossier.last_event_at,
            Dossier.due_at,
            Dossier.original_due_at,
            Dossier.finished_at,
            Dossier.received_at,
            Dossier.applicant_id_number,
        ).where(Dossier.code.like(f"%{suffix}"))
    ).all()
    ids = {d.id: d.code.removesuffix(suffix) for d in dossiers}
    pauses, events = defaultdict(list), defaultdict(set)
    for p in db.session.execute(
        sa.select(DossierPause).where(DossierPause.dossier_id.in_(list(ids)))
    ).scalars():
        pauses[ids[p.dossier_id]].append((p.status, p.started_at, p.ended_at))
    for e in db.session.execute(
        sa.select(DossierEvent).where(DossierEvent.dossier_id.in_(list(ids)))
    ).scalars():
        events[ids[e.dossier_id]].add((e.external_id.removesuffix(suffix), e.status, e.occurred_at))
    return {
        ids[d.id]: (
            tuple(d)[2:],
            sorted(pauses[ids[d.id]]),
            events[ids[d.id]],
        )
        for d in dossiers
    }


def test_shuffled_and_duplicated_events_leave_every_dossier_as_the_ordered_replay_does(app, jobs):
    make_service(processing_days=7)  # due dates from the procedure, moved by pauses
    secret = make_partner("G15")
    client = app.test_client()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    common = {
        "start": start,
        "dossiers": DOSSIERS,
        "events": EVENTS,
        "agency_code": AGENCY,
        "procedure_code": "9.000001",
        "seed": 42,
        "email_share": 0,
    }
    ordered = simulate.generate("G15", code_suffix="-A", **common)
    shuffled = simulate.disorder(simulate.generate("G15", code_suffix="-B", **common), duplicates=0.1, seed=7)
    assert len(ordered) == EVENTS and len(shuffled) > EVENTS * 1.05

    in_order = _send(client, secret, ordered)
    assert in_order == {"applied": EVENTS}
    disordered = _send(client, secret, shuffled)
    assert disordered["duplicate"] == len(shuffled) - EVENTS
    assert disordered["stale"] > EVENTS // 10 and disordered["applied"] + disordered["stale"] == EVENTS
    assert "rejected" not in disordered

    expected, actual = _snapshot("-A"), _snapshot("-B")
    assert len(expected) == len(actual) == DOSSIERS
    different = [code for code in expected if expected[code] != actual.get(code)]
    if different:
        a, b = expected[different[0]], actual[different[0]]
        raise AssertionError(
            f"{len(different)} differ; first: row {a[0]} vs {b[0]}; pauses {a[1]} vs {b[1]}; "
            f"events {sorted(a[2])}"
        )
    assert (
        sum(1 for _, pauses, _ in expected.values() if pauses) > DOSSIERS // 10
    )  # the clocks were exercised
