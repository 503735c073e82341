"""Test harness: real databases built by the migrations, real Redis when configured.

Two runs, one suite (see .ci/run):
- embedded: no DATABASE_URL → a SQLite file per xdist worker; cache and sessions on files.
- production parts: DATABASE_URL (PostgreSQL) and REDIS_URL set → a database per worker,
  created on the server and migrated; cache, sessions and rate limits in Redis.

Fixtures:
- ``app`` / ``client``: a fresh, empty (but migrated) database for every test; rows are
  deleted after each test.
- ``catalog_app`` / ``catalog_client``: a second database, migrated once per worker, holding
  the bundled real catalog (518 procedures). Read-only: tests must not change it.
- ``jobs``: lets a test enqueue jobs (inline, or RQ drained by a burst worker with Redis).
- ``require_part(name, available, why)``: fail in CI, skip on a machine lacking a part.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

os.environ.setdefault("PORTAL_ENV", "testing")
# One module whatever the import path: helpers import it as tests.conftest, and the
# databases it created must be the ones it drops at the end.
sys.modules.setdefault("tests.conftest", sys.modules[__name__])

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")


def require_part(name: str, available: bool, why: str) -> None:
    """Fail in CI (a missing part is a broken machine there), skip elsewhere, saying why."""
    if available:
        return
    message = f"{name} is not available: {why}"
    if IN_CI:
        pytest.fail(message + " (required in CI)", pytrace=False)
    pytest.skip(message)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_url(suffix: str) -> str:
    """Create (or recreate) a database for this worker on the server of DATABASE_URL."""
    from sqlalchemy.engine import make_url

    from portal.config import _normalise_db_url

    base = make_url(_normalise_db_url(DATABASE_URL))
    # The pid keeps two runs on one machine (a developer's and a helper's) apart.
    name = f"{base.database or 'test'}_{suffix}_{_worker()}_{os.getpid()}"[:60]
    _CREATED_DATABASES.append((base, name))
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


_CREATED_DATABASES: list = []


def _drop_created_databases() -> None:
    for base, name in _CREATED_DATABASES:
        engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _database_url(tmp: Path, suffix: str) -> str:
    if DATABASE_URL:
        return _postgres_url(suffix)
    return f"sqlite:///{tmp / f'{suffix}.sqlite3'}"


class RequestIsolatedClient(FlaskClient):
    """A test client whose every request runs in an app context of its own.

    Tests keep an app context pushed (to use the database directly); without this, every
    request would reuse it, sharing ``g`` (and cached CSRF tokens) and the SQLAlchemy
    session across requests as no real deployment does.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_test_app(tmp: Path, suffix: str, **overrides):
    """A migrated app on its own database and cache, for this worker."""
    from flask_migrate import upgrade

    from portal import create_app

    instance = tmp / suffix
    instance.mkdir(parents=True, exist_ok=True)
    config = {
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp, suffix),
        "INSTANCE_DIR": str(instance),
        "CACHE_DIR": str(instance / "cache"),
        "SESSION_DIR": str(instance / "sessions"),
        "CACHE_KEY_PREFIX": f"test:{secrets.token_hex(4)}:",
        "RATELIMIT_KEY_PREFIX": f"test-rl-{secrets.token_hex(4)}",
        "JOBS_QUEUE_PREFIX": f"test-{secrets.token_hex(4)}-",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    app = create_app("testing", overrides=config)
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    """Pages under test speak Vietnamese even on a bare ``pytest`` without ``make``."""
    from tests.browser.support import compile_translations

    compile_translations()


@pytest.fixture(scope="session")
def _tmp_root():
    root = Path(tempfile.mkdtemp(prefix=f"opendvc-{_worker()}-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)
    _drop_created_databases()


@pytest.fixture(scope="session")
def _app(_tmp_root):
    return make_test_app(_tmp_root, "main")


def _delete_all_rows(app) -> None:
    from portal.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app(_app):
    """The portal on an empty migrated database; rows are deleted after the test."""
    from portal.cache import invalidate

    with _app.app_context():
        invalidate("catalog")
        yield _app
        from portal.extensions import db

        db.session.remove()
    _delete_all_rows(_app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def rekey(app):
    """Change SECRET_KEY and SECRET_KEY_FALLBACKS as a restart with new settings would:
    ``rekey(new_key, *fallbacks)``. Both are put back after the test."""
    saved = app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"]

    def change(new_key: str, *fallbacks: str) -> None:
        app.config.update(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=list(fallbacks))

    yield change
    app.config.update(SECRET_KEY=saved[0], SECRET_KEY_FALLBACKS=saved[1])


@pytest.fixture(scope="session")
def catalog_app(_tmp_root):
    """An app whose database holds the bundled real catalog. Read-only for tests."""
    from services_catalog.generate import AGENCIES_FILE, PROCEDURES_FILE, PROVINCES_FILE
    from services_catalog.importer import import_catalog

    app = make_test_app(_tmp_root, "catalog")
    with app.app_context():
        import_catalog(PROCEDURES_FILE, agencies_path=AGENCIES_FILE, provinces_path=PROVINCES_FILE)
    return app


@pytest.fixture
def catalog_client(catalog_app):
    with catalog_app.app_context():
        yield catalog_app.test_client()


@pytest.fixture
def jobs(app):
    """Allow enqueue() in this test: inline without Redis, RQ (drained on demand) with it.

    Yields a callable that runs every queued RQ job (a no-op inline, where jobs already ran).
    """
    previous = app.config["JOBS_MODE"]
    app.config["JOBS_MODE"] = "rq" if REDIS_URL else "inline"

    def drain() -> None:
        if app.config["JOBS_MODE"] != "rq":
            return
        from rq import SimpleWorker

        from portal.jobs import QUEUES, get_queue

        queues = [get_queue(app, name) for name in QUEUES]
        SimpleWorker(queues, connection=queues[0].connection).work(burst=True)

    try:
        yield drain
    finally:
        if app.config["JOBS_MODE"] == "rq":
            # Jobs a test queued but did not run must not leak into the next test.
            from portal.jobs import QUEUES, get_queue

            for name in QUEUES:
                get_queue(app, name).empty()
        app.config["JOBS_MODE"] = previous


class MailCatcher:
    """Messages received by a real SMTP server (aiosmtpd) on loopback."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes, policy

        self.messages.append(
            message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        )
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in str(m["To"])]

    def body(self, message) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""


@pytest.fixture
def smtp(app):
    """Point the app's mail at an aiosmtpd server on a free loopback port for this test."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    catcher = MailCatcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    previous = app.config.get("MAIL_SERVER")
    app.config["MAIL_SERVER"] = f"127.0.0.1:{port}"
    try:
        yield catcher
    finally:
        app.config["MAIL_SERVER"] = previous
        controller.stop()
