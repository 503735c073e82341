"""The sync part of the OpenAPI document describes the real answers, with no undocumented field."""

from __future__ import annotations

import json

from portal.apidocs import spec
from portal.sync import schemas
from tests.sync.support import EVENTS_PATH, FEED_PATH, make_partner, post_events, signed
from tests.test_openapi import _closed, _component


def test_the_documented_examples_and_schemas_match_real_answers(app, jobs):
    from tests.dossiers.support import make_filed, make_service, make_user

    doc = _closed(spec.document())
    secret = make_partner()
    client = app.test_client()
    example = {**schemas.EVENT_EXAMPLE, "occurred_at": "2025-01-02T08:30:00+07:00"}
    answer = post_events(client, secret, [example]).get_json()
    assert answer == {"results": [{"event_id": "H56-000123", "result": "applied"}]}
    _component(doc, "DossierEventResults").validate(answer)
    rejected = post_events(
        client,
        secret,
        [{**example, "event_id": "H56-000124", "occurred_at": "2025-01-03T08:00:00+07:00", "status": 99}],
    )
    _component(doc, "DossierEventResults").validate(rejected.get_json())
    _component(doc, "DossierEventBatch").validate({"events": [schemas.EVENT_EXAMPLE]})

    body = json.dumps({"events": [example]}).encode()
    headers = signed(body, secret)
    headers["X-Portal-Signature"] = "v1=" + "0" * 64
    assert client.post(EVENTS_PATH, data=body, headers=headers).get_json() == schemas.UNSIGNED_EXAMPLE
    assert (
        client.post(EVENTS_PATH, data=b"{", headers=signed(b"{", secret)).get_json()
        == schemas.MALFORMED_EXAMPLE
    )

    service_id, keys = make_service()
    make_filed(make_user(), service_id, keys)
    g15 = make_partner("G15")
    feed = client.get(FEED_PATH, headers=signed(b"", g15, "G15")).get_json()
    assert len(feed["items"]) == 1
    _component(doc, "SyncDossierFeed").validate(feed)
    bad = client.get(FEED_PATH + "?after=x", headers=signed(b"", g15, "G15")).get_json()
    assert bad == schemas.BAD_CURSOR_EXAMPLE


def test_the_documented_request_with_a_payment_request_is_applied_and_its_amount_owed(app, jobs):
    from portal.payments import fees
    from tests.sync.support import dossier

    doc = _closed(spec.document())
    operation = doc["paths"]["/api/v1/sync/dossier-events"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    _component(doc, "DossierEventBatch").validate(example)
    assert [e["status"] for e in example["events"]] == [4, 6] and example["events"][1]["amount"] == 50000
    answer = post_events(app.test_client(), make_partner(), example["events"]).get_json()
    assert [r["result"] for r in answer["results"]] == ["applied", "applied"]
    assert fees.amounts(dossier(schemas.EVENT_EXAMPLE["dossier_code"]).id)["owed"] == 50000
