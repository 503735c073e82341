"""Public lookup: code plus the applicant's phone or ID number; one answer for every miss."""

import pytest

from portal.dossiers import service
from portal.errors import NotFound, RateLimited
from portal.extensions import db
from tests.conftest import make_test_app
from tests.dossiers.conftest import dossier_app_settings
from tests.dossiers.support import make_filed, make_service, make_user


@pytest.fixture
def filed_code(app, jobs):
    owner = make_user()
    service_id, keys = make_service(processing_days=5)
    return make_filed(owner, service_id, keys)["code"]


@pytest.mark.parametrize(
    "secret", ["0912345678", "+84 912 345 678", "0912.345.678", "038190000001", " 038190000001 "]
)
def test_the_code_with_the_phone_or_id_number_answers_a_small_public_summary(app, filed_code, secret):
    found = service.public_lookup(f"  {filed_code} ", secret)
    assert set(found) == {
        "code",
        "procedure_name",
        "agency_name",
        "status",
        "status_name",
        "received_at",
        "due_at",
        "timeliness",
    }
    assert found["code"] == filed_code and found["status"] == 1
    assert found["agency_name"] == "Bộ Tư pháp"
    assert found["status_name"]["vi"] == "Mới đăng ký"
    assert "0912345678" not in str(found) and "038190000001" not in str(found) and "Bình" not in str(found)


def test_a_wrong_code_and_a_wrong_secret_get_the_same_answer(app, filed_code):
    answers = []
    for code, secret in (
        (filed_code + "9", "0912345678"),
        (filed_code, "0912345679"),
        (filed_code, ""),
        (filed_code, None),
        ("", "0912345678"),
        ("x" * 10_000, "0912345678"),
        (filed_code.lower(), "038190000001"),
    ):
        with pytest.raises(NotFound) as error:
            service.public_lookup(code, secret)
        answers.append((error.value.status_code, error.value.token, error.value.message))
    assert len(set(answers)) == 1


def test_lookups_are_rate_limited_per_client_address_and_per_code(_tmp_root):
    app = make_test_app(
        _tmp_root,
        "dossiers-lookup-limits",
        RATELIMIT_ENABLED=True,
        JOBS_MODE="inline",
        **dossier_app_settings(_tmp_root, "dossiers-lookup-limits"),
    )
    with app.app_context():
        owner = make_user()
        service_id, keys = make_service()
        code = make_filed(owner, service_id, keys)["code"]
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.7"}):
            for _ in range(10):
                with pytest.raises(NotFound):
                    service.public_lookup("000.00.00.G15-250101-9999", "0912345678")
            with pytest.raises(RateLimited):
                service.public_lookup(code, "0912345678")  # even the right answer, from this address
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.8"}):
            assert service.public_lookup(code, "0912345678")["code"] == code
        for n in range(9):
            with app.test_request_context("/", environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}):
                with pytest.raises(NotFound):
                    service.public_lookup(code, "0999999999")
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.200"}):
            with pytest.raises(RateLimited):
                service.public_lookup(code, "0912345678")  # this code was tried ten times
        db.session.remove()
