"""Partner sync tests run on their own migrated app (an empty database per test, like
``app``), with an upload folder of their own removed after each test."""

from __future__ import annotations

import pytest

from tests.conftest import _delete_all_rows, make_test_app


@pytest.fixture(scope="session")
def _sync_app(_tmp_root):
    return make_test_app(
        _tmp_root,
        "sync",
        UPLOAD_DIR=str(_tmp_root / "sync-uploads"),
        MAIL_OUTBOX_DIR=str(_tmp_root / "sync-outbox"),
    )


@pytest.fixture
def app(_sync_app):
    """The sync app on an empty migrated database; rows and files are removed after."""
    import shutil

    from portal.cache import invalidate
    from portal.extensions import db

    with _sync_app.app_context():
        invalidate("catalog")
        yield _sync_app
        db.session.remove()
    _delete_all_rows(_sync_app)
    shutil.rmtree(_sync_app.config["UPLOAD_DIR"], ignore_errors=True)
