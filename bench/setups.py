"""The two ways the portal runs, each prepared as an isolated, throw-away instance.

- embedded: SQLite file and file cache in a temporary INSTANCE_DIR, no Redis.
- production: a fresh PostgreSQL database ``opendvc_bench`` and Redis with a unique key
  prefix (cache, sessions, rate limits), dropped and deleted afterwards.

Both run with PORTAL_ENV=production (a generated SECRET_KEY and an explicit DATABASE_URL),
so the only difference measured is where data and cache live. For the lookup target the
database also gets N filed dossiers (bench/dossiers.py). Every key of .env.example is
set explicitly (empty when unused) so neither the caller's environment nor a .env file
read by wsgi.py leaks into the measurement.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import dossiers as dossier_data
from bench.server import REPO

PG_DATABASE = "opendvc_bench"

# The limiter stays on (its cost is part of every request) with a limit the load never
# reaches: the generator sends everything from one address.
RATE_LIMIT = "100000000 per minute"

PORTAL_KEYS = (
    "PORTAL_ENV",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "INSTANCE_DIR",
    "JOBS_MODE",
    "CACHE_DIR",
    "CACHE_TTL",
    "CACHE_KEY_PREFIX",
    "RATELIMIT_DEFAULT",
    "CATALOG_QUERY_LIMIT",
    "MAX_CONTENT_LENGTH",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "POPULAR_PROCEDURES",
)


class SetupUnavailable(RuntimeError):
    """A part this setup needs (PostgreSQL, Redis) cannot be reached."""


class CommandFailed(RuntimeError):
    pass


class Setup:
    name = ""
    target = 0.0

    def __init__(self, procedures: int, dossiers: int = 0) -> None:
        self.procedures = procedures  # synthetic procedures; 0: the bundled catalog only
        self.dossiers = dossiers  # filed dossiers for the lookup target; 0: none
        self.workdir = Path(tempfile.mkdtemp(prefix=f"opendvc-bench-{self.name}-"))
        self.env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.seeded: dict = {}
        # Server-side sessions the load opened (the portal keeps them under "sess:<id>").
        self.session_ids: list[str] = []

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({key: "" for key in PORTAL_KEYS})
        env.update(
            {
                "FLASK_APP": "wsgi:app",
                "PORTAL_ENV": "production",
                "SECRET_KEY": secrets.token_hex(32),
                "INSTANCE_DIR": str(self.workdir / "instance"),
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json",
                "CACHE_TTL": "3600",  # longer than the run: every measured read after priming is a hit
                "RATELIMIT_DEFAULT": RATE_LIMIT,
                "CATALOG_QUERY_LIMIT": RATE_LIMIT,
                "PYTHONPATH": str(REPO),
            }
        )
        return env

    def describe(self) -> dict:
        shown = (
            "PORTAL_ENV",
            "DATABASE_URL",
            "REDIS_URL",
            "CACHE_KEY_PREFIX",
            "INSTANCE_DIR",
            "LOG_LEVEL",
            "CACHE_TTL",
            "RATELIMIT_DEFAULT",
            "CATALOG_QUERY_LIMIT",
            "RATELIMIT_KEY_PREFIX",
        )
        return {key: _masked(self.env.get(key, "")) for key in shown}

    def check_available(self) -> None:
        """:raises SetupUnavailable: with a message saying what is missing and how to fix it."""

    def prepare(self) -> None:
        """Create the storage, migrate, import the bundled catalog, generate the synthetic one,
        file the dossiers.

        :raises CommandFailed: a flask command failed; the message carries its output.
        """
        self.create_storage()
        self.flask("db", "upgrade")
        self.flask("catalog", "import-bundled")
        if self.procedures:
            self.flask("catalog", "generate", "--procedures", str(self.procedures))
        if self.dossiers:
            self.seeded = dossier_data.seed(self.env["DATABASE_URL"], self.dossiers)
            self.timings["seed dossiers"] = self.seeded["seconds"]
            steps = ", ".join(f"{k} {v}s" for k, v in self.seeded["steps"].items())
            print(
                f"  dossiers: {self.dossiers:,} filed over {self.seeded['days']} days at "
                f"{self.seeded['agencies']} agencies, with their events: {self.seeded['seconds']}s ({steps})",
                flush=True,
            )

    def create_storage(self) -> None:
        pass

    def flask(self, *args: str) -> str:
        label = " ".join(args[:2])
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        self.timings[label] = round(time.perf_counter() - started, 1)
        if done.returncode != 0:
            raise CommandFailed(
                f"flask {' '.join(args)} exited with {done.returncode}:\n"
                f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        last = (done.stdout.strip().splitlines() or [""])[-1]
        print(f"  flask {' '.join(args)}: {self.timings[label]}s  {last}", flush=True)
        return done.stdout

    def cleanup(self) -> None:
        """Remove everything this setup created. Safe to call more than once."""
        shutil.rmtree(self.workdir, ignore_errors=True)


class EmbeddedSetup(Setup):
    name = "embedded"
    target = 0.35

    def __init__(self, procedures: int, dossiers: int = 0) -> None:
        super().__init__(procedures, dossiers)
        self.env = self.base_env()
        self.env["DATABASE_URL"] = f"sqlite:///{self.workdir / 'instance' / 'opendvc.sqlite3'}"

    def create_storage(self) -> None:
        (self.workdir / "instance").mkdir(parents=True, exist_ok=True)


class ProductionSetup(Setup):
    name = "production"
    target = 0.5

    def __init__(self, procedures: int, dossiers: int = 0, *, pg_admin_url: str, redis_url: str) -> None:
        super().__init__(procedures, dossiers)
        self.pg_admin_url = pg_admin_url
        self.redis_url = redis_url
        self.prefix = f"bench:{secrets.token_hex(4)}:"
        self.created_database = False
        self.env = self.base_env()
        self.env.update(
            {
                "DATABASE_URL": _with_database(pg_admin_url, PG_DATABASE),
                "REDIS_URL": redis_url,
                "CACHE_KEY_PREFIX": self.prefix,
                # Rate-limit counters under this run's prefix too, so they are removed with it.
                "RATELIMIT_KEY_PREFIX": self.prefix + "rl",
            }
        )

    def check_available(self) -> None:
        import psycopg
        import redis

        try:
            with psycopg.connect(self.pg_admin_url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure means "not here"
            raise SetupUnavailable(
                f"PostgreSQL is not reachable at {_masked(self.pg_admin_url)} "
                f"({type(exc).__name__}); pass --pg-admin-url"
            ) from exc
        try:
            redis.Redis.from_url(self.redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
        except Exception as exc:  # noqa: BLE001
            raise SetupUnavailable(
                f"Redis is not reachable at {_masked(self.redis_url)} ({type(exc).__name__}); pass --redis-url"
            ) from exc

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)

    def create_storage(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{PG_DATABASE}"')
        self.created_database = True

    def cleanup(self) -> None:
        if self.created_database:
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
                self.created_database = False
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning
                print(f"  could not drop database {PG_DATABASE}: {exc}", file=sys.stderr)
        try:
            import redis

            client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
            keys = list(client.scan_iter(match=self.prefix + "*", count=1000))
            # The limits library puts its own prefix first: LIMITS:LIMITER/<our prefix>rl/...
            keys += list(client.scan_iter(match=f"LIMITS:*{_glob_escaped(self.prefix)}rl*", count=1000))
            # Session keys have the portal's fixed prefix; delete exactly the ones this run opened.
            keys += [f"sess:{sid}" for sid in self.session_ids]
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
            self.session_ids = []
        except Exception as exc:  # noqa: BLE001
            print(f"  could not delete Redis keys {self.prefix}*: {exc}", file=sys.stderr)
        super().cleanup()


def _glob_escaped(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


def _masked(url: str) -> str:
    """``url`` with any password replaced by ***, for printing and the results file."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"
