"""A second app with rate limits on, for the tests that prove them (rows removed after each)."""

from __future__ import annotations

import pytest

from tests.conftest import _delete_all_rows, make_test_app


@pytest.fixture(scope="session")
def _limited_app(_tmp_root):
    return make_test_app(_tmp_root, "staff-ratelimit", RATELIMIT_ENABLED=True)


@pytest.fixture
def limited_app(_limited_app):
    from portal.extensions import db

    with _limited_app.app_context():
        yield _limited_app
        db.session.remove()
    _delete_all_rows(_limited_app)


# The back office's refunds and reconciliation talk to the gateway: localstripe, started
# as in tests/payments. Modules that need it define ``app`` as ``gateway_app``.
from tests.payments.conftest import localstripe, payments_settings  # noqa: E402, F401 - a fixture


@pytest.fixture(scope="session")
def _gateway_app(_tmp_root, localstripe):  # noqa: F811 - the fixture imported above
    return make_test_app(_tmp_root, "staff-gateway", **payments_settings(_tmp_root, localstripe))


@pytest.fixture
def gateway_app(_gateway_app):
    """The app with payments on localstripe, on an empty migrated database per test."""
    import shutil

    from portal.extensions import db

    with _gateway_app.app_context():
        yield _gateway_app
        db.session.remove()
    _delete_all_rows(_gateway_app)
    shutil.rmtree(_gateway_app.config["UPLOAD_DIR"], ignore_errors=True)
