"""The OpenDVC portal: create_app() and nothing else."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SessionInterface

from portal.config import load_config

# Paths only machines call (partners, the payment gateway, apps, probes): they carry no
# session cookie, so they get Flask's null session and never read or write the store.
MACHINE_PATHS = ("/api/v1/", "/api/sync/files/", "/payments/webhooks/", "/healthz", "/readyz")


class PortalFlask(Flask):
    """Flask, with each hook's sync/async check made once instead of on every request
    (Flask asks ``inspect.iscoroutinefunction`` of every hook of every request)."""

    def ensure_sync(self, func):
        checked = self.__dict__.setdefault("_sync_checked", {})
        try:
            return checked[func]
        except (KeyError, TypeError):  # TypeError: an unhashable callable, not cached
            wrapped = super().ensure_sync(func)
        try:
            checked[func] = wrapped
        except TypeError:
            pass
        return wrapped


class MachineSessions(SessionInterface):
    """The configured session interface, except on MACHINE_PATHS (see there)."""

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner
        self.serializer = getattr(inner, "serializer", None)

    def open_session(self, app, request):
        if request.path.startswith(MACHINE_PATHS):
            return None  # Flask substitutes its null session and skips save_session
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response) -> None:
        self.inner.save_session(app, session, response)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the portal for the environment named by ``config_name`` or PORTAL_ENV.

    :raises portal.config.ConfigError: production without its secrets.
    """
    app = PortalFlask(__name__, instance_path=None)
    config = load_config(config_name)
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)
    from pathlib import Path

    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from flask_session import Session

    from portal import cache, jobs, logs, security
    from portal.extensions import csrf, db, migrate
    from portal.i18n import register_i18n

    logs.configure_logging(app)
    if app.config.get("REDIS_URL"):
        from redis import Redis

        app.extensions["redis"] = Redis.from_url(app.config["REDIS_URL"])
        app.config.setdefault("SESSION_TYPE", "redis")
        app.config["SESSION_REDIS"] = app.extensions["redis"]
    else:
        from cachelib import FileSystemCache

        app.config.setdefault("SESSION_TYPE", "cachelib")
        app.config["SESSION_CACHELIB"] = FileSystemCache(app.config["SESSION_DIR"], threshold=0, mode=0o600)
    app.config.setdefault("SESSION_KEY_PREFIX", "sess:")
    app.config.setdefault("SESSION_USE_SIGNER", False)
    app.config.setdefault("SESSION_PERMANENT", False)
    # Write the stored session only when a request changed it. Refreshing it on every
    # request let a slow request (a stylesheet fetched in parallel) write back the copy it
    # loaded, over the CSRF token a page had just stored: the next form post failed with 400.
    # Expiry lives in the UserSession / StaffSession rows, not in the store's TTL.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False

    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _configure_sqlite(app)
    import portal.accounts.models  # noqa: F401 - register every domain's tables
    import portal.audit.models  # noqa: F401
    import portal.dossiers.models  # noqa: F401
    import portal.feedback.models  # noqa: F401
    import portal.payments.models  # noqa: F401
    import portal.staff.models  # noqa: F401
    import portal.sync.models  # noqa: F401
    import services_catalog.models  # noqa: F401

    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    from portal.ratelimit import init_rate_limits

    init_rate_limits(app)
    Session(app)
    app.session_interface = MachineSessions(app.session_interface)
    from portal.accounts.oidc import init_oidc
    from portal.accounts.sessions import init_sessions

    init_sessions(app)
    init_oidc(app)
    register_i18n(app)
    security.register_security(app)
    cache.init_cache(app)
    jobs.register_jobs(app)


def _configure_sqlite(app: Flask) -> None:
    """SQLite as the embedded database: enforce foreign keys as PostgreSQL does, and let
    readers and one writer work at once (WAL)."""
    from sqlalchemy import event

    from portal.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    from portal.accounts import account_bp
    from portal.accounts import bp as accounts_bp
    from portal.apidocs import bp as apidocs_bp
    from portal.apidocs import views as apidocs_views  # noqa: F401 - routes on apidocs_bp
    from portal.catalog import api as catalog_api
    from portal.catalog import bp as catalog_bp
    from portal.catalog import views as catalog_views  # noqa: F401 - routes on catalog_bp
    from portal.extensions import csrf
    from portal.status import bp as status_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(account_bp)
    from portal.dossiers import bp as dossiers_bp
    from portal.dossiers import load_views as load_dossier_views
    from portal.dossiers import lookup_bp

    load_dossier_views()
    app.register_blueprint(dossiers_bp)
    app.register_blueprint(lookup_bp)
    from portal.dossiers import lookup_api

    app.register_blueprint(lookup_api.bp)
    app.register_blueprint(status_bp)
    from portal.payments import bp as payments_bp
    from portal.payments import callbacks_bp as payment_callbacks_bp
    from portal.payments import load_views as load_payment_views

    load_payment_views()
    app.register_blueprint(payments_bp)
    app.register_blueprint(payment_callbacks_bp)
    from portal.payments import admin_bp as payments_admin_bp

    app.register_blueprint(payments_admin_bp)
    # The gateway authenticates by signature, not a CSRF token; its own limit applies.
    csrf.exempt(payment_callbacks_bp)
    from portal.ratelimit import exempt_blueprint

    exempt_blueprint(app, status_bp)
    exempt_blueprint(app, payment_callbacks_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(catalog_api.bp)
    from portal.catalog import admin_bp as catalog_admin_bp
    from portal.catalog import backoffice_views as catalog_backoffice_views  # noqa: F401

    app.register_blueprint(catalog_admin_bp)
    # Catalog reads count only when the cache cannot answer them (CATALOG_QUERY_LIMIT).
    exempt_blueprint(app, catalog_bp)
    exempt_blueprint(app, catalog_api.bp)
    app.register_blueprint(apidocs_bp)
    from portal.sync import bp as sync_bp
    from portal.sync import files_bp as sync_files_bp
    from portal.sync import load_views as load_sync_views

    load_sync_views()
    app.register_blueprint(sync_bp)
    app.register_blueprint(sync_files_bp)
    from portal.sync import deliveries_bp, partners_bp

    app.register_blueprint(deliveries_bp)
    app.register_blueprint(partners_bp)
    # Partners are limited per partner (SYNC_RATE_LIMIT), not per address.
    exempt_blueprint(app, sync_bp)
    csrf.exempt(sync_bp)
    from portal import feedback, staff

    staff.load_views()
    feedback.load_views()
    app.register_blueprint(staff.auth_bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(staff.statistics_bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(feedback.desk_bp)
    # JSON APIs authenticate by signature or are read-only; CSRF protects browser forms.
    csrf.exempt(catalog_api.bp)
    csrf.exempt(lookup_api.bp)
    # Lookups have their own, stricter limits per address and per code (the form's GET keeps
    # the default one).
    exempt_blueprint(app, lookup_api.bp)
    exempt_blueprint(app, lookup_bp, methods=("POST",))


def register_errorhandlers(app: Flask) -> None:
    from portal.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from portal.jobs import worker_command
    from services_catalog.cli import catalog_cli

    app.cli.add_command(catalog_cli)
    app.cli.add_command(worker_command())
    from portal.sync.cli import deliveries_cli, partners_cli, sync_cli

    app.cli.add_command(partners_cli)
    app.cli.add_command(deliveries_cli)
    app.cli.add_command(sync_cli)
    from portal.payments.cli import payments_cli

    app.cli.add_command(payments_cli)
    from portal.staff.cli import staff_cli

    app.cli.add_command(staff_cli)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
