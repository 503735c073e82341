"""The failed partner deliveries screen: list, detail, retry one or several, scoped to the
officer's agencies, audited, and refusing replays and forged requests."""

from __future__ import annotations

from portal.sync import partners
from tests.dossiers.support import make_user
from tests.staff.backoffice_support import audit, delivery_state, failed_delivery, filed_dossier, signed_in

LIST = "/quan-tri/chuyen-ho-so/"


def _world(jobs):
    # A partner that is down: every send is refused at once (nothing listens on port 9).
    partners.create_partner("G15", base_url="http://127.0.0.1:9/partner-api")
    dossier = filed_dossier()
    return dossier, failed_delivery(dossier)


def test_a_supervisor_sees_a_failed_delivery_and_sends_it_again_which_is_audited(app, jobs):
    dossier, delivery_id = _world(jobs)
    client, staff, token = signed_in(app, "supervisor")
    page = client.get(LIST).get_data(as_text=True)
    assert dossier["code"] in page and "no answer: ConnectError" in page
    detail = client.get(f"{LIST}{delivery_id}")
    assert detail.status_code == 200 and dossier["code"] in detail.get_data(as_text=True)
    response = client.post(f"{LIST}{delivery_id}/gui-lai", data={"csrf_token": token})
    assert response.status_code == 302
    # Sent again at once (inline job): the partner is still down, so it waits for its next try.
    assert delivery_state(delivery_id) == "pending"
    (entry,) = audit("delivery.retry")
    assert entry.actor_id == staff.id and entry.target_id == delivery_id
    assert (
        entry.changes["state"] == ["failed", "pending"] and entry.changes["dossier_code"] == dossier["code"]
    )


def test_retrying_a_delivery_that_is_no_longer_failed_is_refused_with_a_message_and_audited_once(app, jobs):
    _dossier, delivery_id = _world(jobs)
    client, _staff, token = signed_in(app, "admin")
    assert client.post(f"{LIST}{delivery_id}/gui-lai", data={"csrf_token": token}).status_code == 302
    replay = client.post(f"{LIST}{delivery_id}/gui-lai", data={"csrf_token": token})
    assert replay.status_code == 409
    assert "nothing to retry" in replay.get_data(as_text=True) or "không" in replay.get_data(as_text=True)
    assert len(audit("delivery.retry")) == 1


def test_retrying_a_delivered_delivery_is_refused(app, jobs):
    from portal.dossiers.models import Delivery
    from portal.extensions import db

    _dossier, delivery_id = _world(jobs)
    db.session.get(Delivery, delivery_id).state = "delivered"
    db.session.commit()
    client, _staff, token = signed_in(app, "admin")
    assert client.post(f"{LIST}{delivery_id}/gui-lai", data={"csrf_token": token}).status_code == 409
    assert delivery_state(delivery_id) == "delivered" and audit("delivery.retry") == []


def test_several_selected_deliveries_are_sent_again_together(app, jobs):
    partners.create_partner("G15", base_url="http://127.0.0.1:9/partner-api")
    first = failed_delivery(filed_dossier())
    second = failed_delivery(filed_dossier(make_user(email="other@example.vn", phone=None)))
    client, _staff, token = signed_in(app, "supervisor")
    response = client.post(f"{LIST}gui-lai", data={"csrf_token": token, "ids": [first, second]})
    assert response.status_code == 302
    assert {delivery_state(first), delivery_state(second)} == {"pending"}
    assert {e.target_id for e in audit("delivery.retry")} == {first, second}


def test_retrying_a_selection_with_nothing_selected_says_so_on_the_page(app, jobs):
    _world(jobs)
    client, _staff, token = signed_in(app, "supervisor")
    response = client.post(f"{LIST}gui-lai", data={"csrf_token": token})
    assert response.status_code == 400
    assert 'class="form-error"' in response.get_data(as_text=True)


def test_a_selection_holding_an_unknown_delivery_retries_nothing_and_answers_404(app, jobs):
    _dossier, delivery_id = _world(jobs)
    client, _staff, token = signed_in(app, "supervisor")
    response = client.post(f"{LIST}gui-lai", data={"csrf_token": token, "ids": [delivery_id, "no-such-id"]})
    assert response.status_code == 404
    assert delivery_state(delivery_id) == "failed" and audit("delivery.retry") == []


def test_unknown_deliveries_are_not_found(app, jobs):
    client, _staff, token = signed_in(app, "admin")
    assert client.get(f"{LIST}no-such-delivery").status_code == 404
    assert client.get(f"{LIST}{'x' * 300}").status_code == 404
    assert client.post(f"{LIST}no-such-delivery/gui-lai", data={"csrf_token": token}).status_code == 404


def test_an_officer_sees_and_retries_only_deliveries_of_dossiers_at_their_agencies(app, jobs):
    dossier, delivery_id = _world(jobs)
    # The officer of another province: the delivery does not exist for them.
    outsider, _staff, token = signed_in(
        app, "agency_officer", agencies=("000.00.00.H22",), email="h22@dichvucong.example.vn"
    )
    assert dossier["code"] not in outsider.get(f"{LIST}?state=all").get_data(as_text=True)
    assert outsider.get(f"{LIST}{delivery_id}").status_code == 404
    assert outsider.post(f"{LIST}{delivery_id}/gui-lai", data={"csrf_token": token}).status_code == 404
    assert (
        outsider.post(f"{LIST}gui-lai", data={"csrf_token": token, "ids": [delivery_id]}).status_code == 404
    )
    assert delivery_state(delivery_id) == "failed"
    insider, _officer, token = signed_in(
        app, "agency_officer", agencies=("000.00.00.G15",), email="g15@dichvucong.example.vn"
    )
    assert dossier["code"] in insider.get(LIST).get_data(as_text=True)
    assert insider.post(f"{LIST}{delivery_id}/gui-lai", data={"csrf_token": token}).status_code == 302
    assert delivery_state(delivery_id) == "pending"


def test_a_retry_without_the_csrf_token_is_refused_and_changes_nothing(app, jobs):
    _dossier, delivery_id = _world(jobs)
    client, _staff, _token = signed_in(app, "admin")
    assert client.post(f"{LIST}{delivery_id}/gui-lai").status_code == 400
    assert (
        client.post(f"{LIST}gui-lai", data={"ids": [delivery_id], "csrf_token": "forged"}).status_code == 400
    )
    assert delivery_state(delivery_id) == "failed" and audit("delivery.retry") == []


def test_the_last_error_never_shows_a_secret_or_signature(app, jobs):
    partners.create_partner("G15", base_url="http://127.0.0.1:9/partner-api")
    delivery_id = failed_delivery(
        filed_dossier(), error="the partner answered 401: bad signature=v1=abc123 with pss_SECRETVALUE123"
    )
    client, _staff, _token = signed_in(app, "admin")
    for page in (client.get(f"{LIST}{delivery_id}"), client.get(LIST)):
        html = page.get_data(as_text=True)
        assert (
            "pss_SECRETVALUE123" not in html and "abc123" not in html and "the partner answered 401" in html
        )


def test_an_unknown_state_in_the_filter_is_named_next_to_the_filter(app, jobs):
    client, _staff, _token = signed_in(app, "admin")
    response = client.get(f"{LIST}?state=<script>")
    assert response.status_code == 400 and "filter-state-error" in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)
