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
