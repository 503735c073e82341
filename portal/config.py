"""Configuration: one class per environment, chosen by PORTAL_ENV.

Every key read here is listed in .env.example and in the README's configuration table.
Production has no silent defaults for its secrets: ``ProductionConfig.check()`` refuses
to start without them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The environment is missing something this configuration cannot run without."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number") from exc


def _instance_dir() -> Path:
    return Path(_env("INSTANCE_DIR", str(BASE_DIR / "instance")))


def _dev_secret_key(instance: Path) -> str:
    """A random key kept in the instance folder, so a laptop's sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class BaseConfig:
    ENV_NAME = "base"

    def __init__(self) -> None:
        instance = _instance_dir()
        self.INSTANCE_DIR = str(instance)
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(
            _env("DATABASE_URL", f"sqlite:///{instance / 'opendvc.sqlite3'}")
        )
        self.REDIS_URL = _env("REDIS_URL")
        self.SECRET_KEY = _env("SECRET_KEY")
        # Old keys still accepted while SECRET_KEY is rotated (commas): Flask reads this list
        # for its own signed data; the portal for CSRF tokens, file links and partner secrets.
        self.SECRET_KEY_FALLBACKS = [
            k.strip() for k in (_env("SECRET_KEY_FALLBACKS", "") or "").split(",") if k.strip()
        ]
        # A ping before every checkout costs a round trip per request. Off by default: a
        # connection the database dropped fails one request, then SQLAlchemy discards the
        # whole pool; connections are renewed every 30 minutes anyway.
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_pre_ping": _env("DATABASE_PRE_PING", "0") == "1",
            "pool_recycle": 1800,
        }
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            # Concurrent writers (two submissions at once) wait for each other instead of
            # failing with "database is locked".
            self.SQLALCHEMY_ENGINE_OPTIONS["connect_args"] = {"timeout": 30}
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False

        # Requests larger than this are refused with 413 before a view sees them.
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)

        self.BABEL_DEFAULT_LOCALE = "vi"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
        self.LANGUAGES = ("vi", "en")

        self.WTF_CSRF_TIME_LIMIT = 3600 * 8

        # Jobs: "inline" runs them in-process right after the commit; "rq" hands them to
        # RQ workers on Redis; "strict" (tests) raises so no test silently drops a job.
        self.JOBS_MODE = _env("JOBS_MODE", "rq" if self.REDIS_URL else "inline")
        # Prefix of RQ queue names, to run several portals (or test runs) on one Redis.
        self.JOBS_QUEUE_PREFIX = _env("JOBS_QUEUE_PREFIX", "")

        # Cache for catalog reads: Redis when configured, else files in the instance
        # folder (shared by every local process, so an import invalidates it for all).
        self.CACHE_DIR = _env("CACHE_DIR", str(instance / "cache"))
        self.CACHE_TTL = _env_int("CACHE_TTL", 600)
        self.CACHE_KEY_PREFIX = _env("CACHE_KEY_PREFIX", "opendvc:")

        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_DEFAULT = _env("RATELIMIT_DEFAULT", "300 per minute")
        # X-RateLimit-* headers cost two more storage round trips per request: off unless asked.
        self.RATELIMIT_HEADERS_ENABLED = _env("RATELIMIT_HEADERS_ENABLED", "0") == "1"
        self.RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "opendvc-rl")
        # Catalog reads the cache cannot answer (new searches, unknown codes), per address;
        # cached catalog reads are not counted (see portal.catalog.service._metered).
        self.CATALOG_QUERY_LIMIT = _env("CATALOG_QUERY_LIMIT", "120 per minute")

        self.SESSION_COOKIE_NAME = "opendvc_session"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = False
        self.SESSION_DIR = str(instance / "sessions")

        self.HSTS = False
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO")
        self.LOG_FORMAT = _env("LOG_FORMAT", "json")
        # Password hashing cost (argon2id); defaults are argon2-cffi's RFC 9106 profile.
        self.ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_KIB = _env_int("ARGON2_MEMORY_KIB", 65536)
        self.ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 4)
        # Uploads: stored outside the web root under random names.
        self.UPLOAD_DIR = _env("UPLOAD_DIR", str(instance / "uploads"))
        self.UPLOAD_MAX_FILE_BYTES = _env_int("UPLOAD_MAX_FILE_BYTES", 10 * 1024 * 1024)
        self.UPLOAD_MAX_DOSSIER_BYTES = _env_int("UPLOAD_MAX_DOSSIER_BYTES", 50 * 1024 * 1024)
        # Public dossier lookup: attempts per client address and per code.
        self.LOOKUP_RATE_LIMIT = _env("LOOKUP_RATE_LIMIT", "10 per 15 minutes")
        # Drafts: the largest form a draft keeps, and how many open drafts a citizen may have.
        self.DOSSIER_DRAFT_MAX_BYTES = _env_int("DOSSIER_DRAFT_MAX_BYTES", 65536)
        self.DOSSIER_MAX_DRAFTS = _env_int("DOSSIER_MAX_DRAFTS", 20)
        # Mail: SMTP when MAIL_SERVER (host:port) is set, else .eml files in MAIL_OUTBOX_DIR.
        self.MAIL_SERVER = _env("MAIL_SERVER")
        self.MAIL_USE_TLS = _env("MAIL_USE_TLS", "0") == "1"
        self.MAIL_USE_SSL = _env("MAIL_USE_SSL", "0") == "1"
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_FROM = _env("MAIL_FROM", "no-reply@dichvucong.example.vn")
        self.MAIL_FROM_NAME = _env("MAIL_FROM_NAME", "Cổng Dịch vụ công")
        self.MAIL_OUTBOX_DIR = _env("MAIL_OUTBOX_DIR", str(instance / "outbox"))
        # The public address of the portal, for links in e-mails (no trailing slash).
        self.PUBLIC_URL = _env("PUBLIC_URL", "http://127.0.0.1:5000")
        # Citizens' sessions; staff sessions are shorter (back office).
        self.SESSION_LIFETIME_HOURS = _env_int("SESSION_LIFETIME_HOURS", 12)
        self.PERMANENT_SESSION_LIFETIME = 3600 * self.SESSION_LIFETIME_HOURS
        # Staff (back office) sessions: an absolute lifetime and an idle timeout, in minutes.
        self.STAFF_SESSION_LIFETIME_MINUTES = _env_int("STAFF_SESSION_LIFETIME_MINUTES", 480)
        self.STAFF_SESSION_IDLE_MINUTES = _env_int("STAFF_SESSION_IDLE_MINUTES", 30)
        # Feedback: working days to answer, per category ("category:days", commas), and how
        # many tickets one address or account may send.
        self.FEEDBACK_SLA_WORKING_DAYS = _env(
            "FEEDBACK_SLA_WORKING_DAYS", "dossier:5,conduct:10,regulation:15,portal:3"
        )
        self.FEEDBACK_RATE_LIMIT = _env("FEEDBACK_RATE_LIMIT", "5 per hour")
        # National identity provider (OpenID Connect); sign-in with it is offered when set.
        self.OIDC_ISSUER = _env("OIDC_ISSUER")
        self.OIDC_CLIENT_ID = _env("OIDC_CLIENT_ID")
        self.OIDC_CLIENT_SECRET = _env("OIDC_CLIENT_SECRET")
        self.OIDC_SCOPES = _env("OIDC_SCOPES", "openid profile email")
        # The working-day calendar: extra days off and extra working days (ISO dates, commas).
        self.WORKDAYS_EXTRA_DAYS_OFF = _env("WORKDAYS_EXTRA_DAYS_OFF", "")
        self.WORKDAYS_EXTRA_WORKING_DAYS = _env("WORKDAYS_EXTRA_WORKING_DAYS", "")
        # Partner sync: limit per partner, deliveries (timeout, worker lease, retry delays
        # doubling from BASE up to MAX, for FOR_HOURS then failed) and signed file links.
        self.SYNC_RATE_LIMIT = _env("SYNC_RATE_LIMIT", "6000 per minute")
        self.SYNC_DELIVERY_TIMEOUT = _env_int("SYNC_DELIVERY_TIMEOUT", 10)
        self.SYNC_DELIVERY_LEASE_SECONDS = _env_int("SYNC_DELIVERY_LEASE_SECONDS", 120)
        self.SYNC_RETRY_BASE_SECONDS = _env_int("SYNC_RETRY_BASE_SECONDS", 60)
        self.SYNC_RETRY_MAX_SECONDS = _env_int("SYNC_RETRY_MAX_SECONDS", 3600)
        self.SYNC_RETRY_FOR_HOURS = max(24, _env_int("SYNC_RETRY_FOR_HOURS", 24))
        self.SYNC_LINK_TTL_SECONDS = _env_int("SYNC_LINK_TTL_SECONDS", 7 * 24 * 3600)
        # Procedures listed first on the home page (comma-separated codes).
        self.POPULAR_PROCEDURES = [
            c.strip() for c in (_env("POPULAR_PROCEDURES", "") or "").split(",") if c.strip()
        ]

        # Fee payments through a Stripe-compatible gateway (portal.payments).
        self.PAYMENT_GATEWAY = _env("PAYMENT_GATEWAY", "stripe")
        self.STRIPE_API_BASE = _env("STRIPE_API_BASE")  # unset: Stripe itself
        self.STRIPE_SECRET_KEY = _env("STRIPE_SECRET_KEY")
        self.STRIPE_PUBLISHABLE_KEY = _env("STRIPE_PUBLISHABLE_KEY")
        # Comma-separated: two secrets are accepted while one is being rotated.
        self.STRIPE_WEBHOOK_SECRET = _env("STRIPE_WEBHOOK_SECRET")
        self.STRIPE_JS_URL = _env("STRIPE_JS_URL", "https://js.stripe.com/v3/")
        self.STRIPE_TIMEOUT_SECONDS = _env_int("STRIPE_TIMEOUT_SECONDS", 20)
        self.PAYMENT_EXPIRY_MINUTES = _env_int("PAYMENT_EXPIRY_MINUTES", 90)
        self.PAYMENT_MOPUP_MINUTES = _env_int("PAYMENT_MOPUP_MINUTES", 30)
        # Open payments younger than this are left to their callback by the mop-up.
        self.PAYMENT_MOPUP_GRACE_MINUTES = _env_int("PAYMENT_MOPUP_GRACE_MINUTES", 5)
        self.PAYMENT_WEBHOOK_RATE_LIMIT = _env("PAYMENT_WEBHOOK_RATE_LIMIT", "6000 per minute")
        self.RECEIPT_TEMPLATE = _env("RECEIPT_TEMPLATE", "01BLP0-001")
        self.RECEIPT_SERIES = _env("RECEIPT_SERIES", "DVC-{year}")
        self.RECONCILIATION_DIR = _env("RECONCILIATION_DIR", str(instance / "reconciliation"))

    def check(self) -> None:
        """Raise ConfigError when this environment cannot run as configured."""


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"

    def __init__(self) -> None:
        super().__init__()
        if not self.SECRET_KEY:
            self.SECRET_KEY = _dev_secret_key(Path(self.INSTANCE_DIR))
        self.LOG_FORMAT = _env("LOG_FORMAT", "text")


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = self.SECRET_KEY or secrets.token_hex(32)
        self.JOBS_MODE = _env("JOBS_MODE", "strict")
        self.RATELIMIT_ENABLED = _env("RATELIMIT_ENABLED", "0") == "1"
        self.LOG_FORMAT = "text"
        self.LOG_LEVEL = _env("LOG_LEVEL", "WARNING")
        # Cheaper argon2id so the suite stays fast; same algorithm, same code path.
        self.ARGON2_TIME_COST = 1
        self.ARGON2_MEMORY_KIB = 8192
        self.ARGON2_PARALLELISM = 1


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = True
        self.HSTS = True
        self.PREFERRED_URL_SCHEME = "https"

    def check(self) -> None:
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not _env(name)]
        if missing:
            raise ConfigError(
                "production refuses to start without " + ", ".join(missing) + " (see .env.example)"
            )
        if len(_env("SECRET_KEY") or "") < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
        if _env("STRIPE_SECRET_KEY") and not _env("STRIPE_WEBHOOK_SECRET"):
            raise ConfigError("production refuses to take payments without STRIPE_WEBHOOK_SECRET")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> BaseConfig:
    """Build the configuration chosen by ``name`` or PORTAL_ENV (default development)."""
    name = name or _env("PORTAL_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError as exc:
        raise ConfigError(f"PORTAL_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from exc
    config = cls()
    config.check()
    return config


def _normalise_db_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver named.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
