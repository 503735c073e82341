"""Browser tests: Debian's Chromium, driven by Playwright, against a live portal.

The portal is this worker's ``catalog_app`` (the 518 real procedures) served by werkzeug
on a free loopback port in a daemon thread, so pytest-xdist workers never share a port,
a database or a browser. Chromium is the system package (never ``playwright install``).
"""

from __future__ import annotations

import os
import threading

import pytest

from tests.browser.support import compile_translations
from tests.conftest import require_part

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server(catalog_app):
    """The catalog app on http://127.0.0.1:<free port>, for the whole session of this worker."""
    from werkzeug.serving import make_server

    compile_translations()
    server = make_server("127.0.0.1", 0, catalog_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    require_part("Chromium", os.path.exists(CHROMIUM), "install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open pages in fresh contexts (no cookies carried between tests): ``new_page(width=360)``."""
    contexts = []

    def open_page(width: int = 1280, height: int = 900):
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
