"""Dossier tests run on their own migrated app (an empty database per test, like ``app``).

Its own app because it needs an upload folder per run, removed with the files after
each test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _delete_all_rows, make_test_app


def dossier_app_settings(tmp: Path, suffix: str) -> dict:
    return {"UPLOAD_DIR": str(tmp / f"{suffix}-uploads")}


@pytest.fixture(scope="session")
def _dossiers_app(_tmp_root):
    return make_test_app(_tmp_root, "dossiers", **dossier_app_settings(_tmp_root, "dossiers"))


@pytest.fixture
def app(_dossiers_app):
    """The dossiers app on an empty migrated database; rows and files are removed after."""
    import shutil

    from portal.cache import invalidate
    from portal.extensions import db

    with _dossiers_app.app_context():
        invalidate("catalog")
        yield _dossiers_app
        db.session.remove()
    _delete_all_rows(_dossiers_app)
    shutil.rmtree(_dossiers_app.config["UPLOAD_DIR"], ignore_errors=True)


@pytest.fixture
def upload_dir(app) -> Path:
    path = Path(app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path
