"""Payments tests run against localstripe (a real Stripe stand-in, started here on a free
loopback port for this worker) and a live portal it can call back.

- ``localstripe``: the stand-in's base URL, for the session. Under CI=true a failure to
  start it fails the run; elsewhere the tests needing it are skipped, saying why.
- ``payments_live``: this worker's payments app served by werkzeug on a free port, with
  localstripe's webhook pointed at it (signed with the app's webhook secret).
- ``app``: that app on an empty migrated database per test (rows deleted after).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.conftest import _delete_all_rows, make_test_app, require_part

WEBHOOK_SECRET = "whsec_opendvc_test_secret"
SECRET_KEY = "sk_test_opendvc"
PUBLISHABLE_KEY = "pk_test_opendvc"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe(_tmp_root):
    """Start ``python -m localstripe`` on a free loopback port; stop it (by its pid) at the end."""
    port = _free_port()
    log = open(_tmp_root / "localstripe.log", "wb")  # noqa: SIM115 - closed below
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        log.close()
        require_part(
            "localstripe", False, f"it could not be started ({exc}); pip install -r requirements-dev.txt"
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    started = False
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{base}/js.stripe.com/v3/", timeout=1).status_code == 200:
                started = True
                break
        except requests.RequestException:
            time.sleep(0.1)
    if not started:
        process.kill()
        log.close()
        require_part(
            "localstripe", False, f"it did not answer on {base} (see {_tmp_root / 'localstripe.log'})"
        )
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        import shutil

        shutil.copy(_tmp_root / "localstripe.log", "/tmp/ls-test.log")


def payments_settings(tmp, localstripe_url: str) -> dict:
    return {
        "STRIPE_API_BASE": localstripe_url,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_JS_URL": f"{localstripe_url}/js.stripe.com/v3/",
        "STRIPE_TIMEOUT_SECONDS": 10,
        "UPLOAD_DIR": str(tmp / "payments-uploads"),
        "RECONCILIATION_DIR": str(tmp / "payments-reconciliation"),
    }


@pytest.fixture(scope="session")
def _payments_app(_tmp_root, localstripe):
    return make_test_app(_tmp_root, "payments", **payments_settings(_tmp_root, localstripe))


@pytest.fixture(scope="session")
def payments_live(_payments_app, localstripe):
    """The payments app on http://127.0.0.1:<port>; localstripe's webhook posts to it."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _payments_app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="payments-live", daemon=True)
    thread.start()
    _payments_app.config["PUBLIC_URL"] = url
    quiet_webhooks(localstripe)
    try:
        yield url
    finally:
        quiet_webhooks(localstripe)
        server.shutdown()
        thread.join(timeout=5)


def set_webhook(localstripe_url: str, name: str, url: str, *, events: list[str] | None = None) -> None:
    """Register (or replace) a webhook endpoint at localstripe; ``events=["none"]`` silences it."""
    body = {"url": url, "secret": WEBHOOK_SECRET}
    if events is not None:
        body["events"] = events
    response = requests.post(f"{localstripe_url}/_config/webhooks/{name}", json=body, timeout=5)
    response.raise_for_status()


def quiet_webhooks(localstripe_url: str) -> None:
    """localstripe sends nothing (tests that send their own signed events)."""
    set_webhook(localstripe_url, "portal", "http://127.0.0.1:9/", events=["none"])


@pytest.fixture
def webhooks(localstripe, payments_live):
    """localstripe calls this test's portal back (about a second after each event).

    Off by default: an event of one test must not land in the next one's database. Tests
    using this wait for their events; assertions name their payment, since an event of an
    earlier test may still arrive (stored as ``unknown``)."""
    set_webhook(localstripe, "portal", payments_live + "/payments/webhooks/stripe")
    yield payments_live
    quiet_webhooks(localstripe)


@pytest.fixture
def app(_payments_app, payments_live):
    """The payments app on an empty migrated database; rows and files are removed after."""
    import shutil

    from portal.cache import invalidate
    from portal.extensions import db

    with _payments_app.app_context():
        invalidate("catalog")
        yield _payments_app
        db.session.remove()
    _delete_all_rows(_payments_app)
    shutil.rmtree(_payments_app.config["UPLOAD_DIR"], ignore_errors=True)


@pytest.fixture
def gateway(app):
    from portal.payments.gateway import get_gateway

    return get_gateway("stripe")
