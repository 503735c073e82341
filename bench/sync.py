"""``python -m bench.sync``: partner sync ingest on PostgreSQL + Redis.

Two figures, both measured in the same run on the same throw-away instance (``ProductionSetup``:
database ``opendvc_bench_sync``, Redis keys under a unique prefix, gunicorn with 2 sync workers):

- **Batch ingest**: events/s through ``POST /api/v1/sync/dossier-events`` in signed batches of
  500 (a realistic stream from ``portal.sync.simulate``: counter-filed dossiers, the usual
  status paths, 10 % duplicates, shuffled), against the raw rate of writing the same rows
  (dossiers, events, the dossiers' new state) into the same tables with ``executemany``,
  500 events per transaction, from the same number of parallel writers. Target >= 0.3.
- **Single events**: requests/s of one signed event per request (status changes of open
  dossiers) as a ratio of the bare Flask endpoint (``bench/baseline_app.py``), interleaved in
  short windows as ``python -m bench`` does; the median of the per-cycle ratios. Target >= 0.3.

Results go to ``bench/results/sync-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.__main__ import _create_floor_table, _report_profile
from bench.load import Request, Target, run_interleaved
from bench.server import CONF, HOST, Server, ServerError
from bench.setups import CommandFailed, ProductionSetup, SetupUnavailable

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PARTNER = "H56"
AGENCY = "000.00.15.H56"
BATCH_TARGET = 0.3
SINGLE_TARGET = 0.3
ROUNDS = 4


def _quarter(stream: list, r: int) -> list:
    size = -(-len(stream) // ROUNDS)
    return stream[r * size : (r + 1) * size]


class SyncSetup(ProductionSetup):
    """The production setup on a database of its own, so that it never meets another
    benchmark's ``opendvc_bench`` (dropped WITH (FORCE) by whoever starts next)."""

    database = "opendvc_bench_sync"

    def __init__(self, *, pg_admin_url: str, redis_url: str) -> None:
        super().__init__(0, pg_admin_url=pg_admin_url, redis_url=redis_url)
        self.env["DATABASE_URL"] = pg_admin_url.rpartition("/")[0] + "/" + self.database

    def create_storage(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.database}"')
        self.created_database = True

    def cleanup(self) -> None:
        if self.created_database:
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning
                print(f"  could not drop database {self.database}: {exc}", file=sys.stderr)
            self.created_database = False
        super().cleanup()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=40_000, help="events in the batch stream (default 40,000)"
    )
    parser.add_argument("--dossiers", type=int, default=4_000, help="dossiers they are about (default 4,000)")
    parser.add_argument("--writers", type=int, default=2, help="parallel senders and raw writers (default 2)")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per single-event target (default 10)"
    )
    parser.add_argument("--window", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=4, help="client processes for single events")
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--single-only", action="store_true", help="measure the single-event requests only (no batch stage)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the portal's workers under cProfile and print where the time went (ratios not comparable)",
    )
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------ streams


def _streams(events: int, dossiers: int, writers: int, suffix: str) -> list[list[dict]]:
    """One disordered stream per writer, over disjoint dossiers."""
    from portal.sync import simulate

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    out = []
    for w in range(writers):
        ordered = simulate.generate(
            PARTNER,
            dossiers=dossiers // writers,
            events=events // writers,
            agency_code=AGENCY,
            procedure_code="1.001193",
            seed=1000 + w,
            start=start,
            code_suffix=f"{suffix}{w}",
        )
        out.append(simulate.disorder(ordered, duplicates=0.1, seed=w))
    return out


def _send_batches(base_url: str, secret: str, streams: list[list[dict]]) -> tuple[float, dict]:
    """Send every stream in batches of 500, one thread per stream; (seconds, result counts)."""
    from collections import Counter

    from portal.sync import simulate

    counts: Counter = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(stream):
        try:
            with httpx.Client(timeout=120) as client:
                got = simulate.send(base_url, PARTNER, secret, stream, batch=500, client=client)
            with lock:
                counts.update(got)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(s,)) for s in streams]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started, dict(counts)


def _raw_writes(database_url: str, streams: list[list[dict]], seen_maps: list[dict[str, int]]) -> float:
    """Write the rows the stream makes straight into the same tables: per 500 events, one
    transaction with executemany INSERTs of new dossiers and events and UPDATEs of dossiers.
    ``seen_maps``: per writer, the dossier ids it already created (kept across rounds)."""
    import psycopg

    errors: list[BaseException] = []

    def one(stream, seen):
        try:
            with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
                for i in range(0, len(stream), 500):
                    chunk = stream[i : i + 500]
                    now = datetime.now(UTC)
                    new = []
                    for e in chunk:
                        if e["dossier_code"] not in seen:
                            seen[e["dossier_code"]] = 0
                            d = e["dossier"]
                            new.append(
                                (
                                    e["dossier_code"],
                                    d["procedure_code"],
                                    d["agency_code"],
                                    d["applicant"]["name"],
                                    d["applicant"].get("id_number"),
                                    d["applicant"].get("phone"),
                                    d["applicant"].get("email"),
                                    d["received_at"],
                                    now,
                                    now,
                                )
                            )
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO dossiers (code, state, channel, procedure_code, agency_code, form_data, "
                            "applicant_name, applicant_id_number, applicant_phone, applicant_email, received_at, "
                            "created_at, updated_at) VALUES (%s, 'filed', 1, %s, %s, '{}', %s, %s, %s, %s, %s, %s, %s)",
                            new,
                        )
                        codes = [n[0] for n in new]
                        if codes:
                            for did, code in cur.execute(
                                "SELECT id, code FROM dossiers WHERE code = ANY(%s)", [codes]
                            ):
                                seen[code] = did
                        cur.executemany(
                            "INSERT INTO dossier_events (dossier_id, status, occurred_at, recorded_at, source, "
                            "external_id, result, note, handler_name, handler_unit) "
                            "VALUES (%s, %s, %s, %s, %s, %s, 'applied', %s, %s, %s)",
                            [
                                (
                                    seen[e["dossier_code"]],
                                    e["status"],
                                    e["occurred_at"],
                                    now,
                                    f"raw:{PARTNER}",
                                    e["event_id"],
                                    e["note"],
                                    e["handler"]["name"],
                                    e["handler"]["unit"],
                                )
                                for e in chunk
                            ],
                        )
                        latest: dict[str, dict] = {}
                        for e in chunk:
                            latest[e["dossier_code"]] = e
                        cur.executemany(
                            "UPDATE dossiers SET status = %s, last_event_at = %s, updated_at = %s WHERE id = %s",
                            [(e["status"], e["occurred_at"], now, seen[c]) for c, e in latest.items()],
                        )
                    conn.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(s, m)) for s, m in zip(streams, seen_maps, strict=True)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def _single_requests(port: int, secret: str, codes: list[str], count: int) -> list[Request]:
    """``count`` signed one-event requests, status changes 4 <-> 5 of open dossiers, in time order."""
    from portal.sync import signing

    base = datetime.now(UTC) - timedelta(days=1)
    out = []
    for n in range(count):
        code = codes[n % len(codes)]
        event = {
            "event_id": f"single-{n}",
            "dossier_code": code,
            "status": 5 if (n // len(codes)) % 2 == 0 else 4,
            "occurred_at": (base + timedelta(seconds=n)).isoformat(),
            "note": "Đề nghị bổ sung giấy tờ",
            "handler": {"name": "Nguyễn Văn A", "unit": "Bộ phận một cửa"},
        }
        body = json.dumps({"events": [event]}, ensure_ascii=False).encode()
        headers = signing.sign_headers(PARTNER, secret, body)
        head = (
            f"POST /api/v1/sync/dossier-events HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: opendvc-bench\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        out.append(Request(head.encode("ascii") + body, status=200, marker=b'"result"'))
    return out


# --------------------------------------------------------------------------------- main


def _batch_stage(args, setup, base_url: str, secret: str) -> dict:
    """Batches of 500 through the API against raw executemany writes, taking turns."""
    streams = _streams(args.events, args.dossiers, args.writers, "-api")
    raw_streams = _streams(args.events, args.dossiers, args.writers, "-raw")
    # The raw writer stores each event once, as the API does (duplicates store nothing).
    raw_streams = [list({e["event_id"]: e for e in reversed(s)}.values())[::-1] for s in raw_streams]
    _send_batches(base_url, secret, _streams(2000, 200, args.writers, "-warm"))  # warm-up, not timed
    # API and raw writes take turns, a quarter of each stream at a time, so that load from
    # elsewhere on the machine falls on both alike; the figure is the median of the rounds.
    counts: dict = {}
    api_seconds = raw_seconds = 0.0
    stored_total = raw_total = 0
    round_ratios = []
    seen_maps: list[dict[str, int]] = [{} for _ in raw_streams]
    for r in range(ROUNDS):
        part = [_quarter(stream, r) for stream in streams]
        seconds, got = _send_batches(base_url, secret, part)
        stored = got.get("applied", 0) + got.get("stale", 0)
        raw_part = [_quarter(stream, r) for stream in raw_streams]
        raw_s = _raw_writes(setup.env["DATABASE_URL"], raw_part, seen_maps)
        raw_n = sum(len(p) for p in raw_part)
        round_ratios.append((stored / seconds) / (raw_n / raw_s))
        for key, value in got.items():
            counts[key] = counts.get(key, 0) + value
        api_seconds, raw_seconds = api_seconds + seconds, raw_seconds + raw_s
        stored_total, raw_total = stored_total + stored, raw_total + raw_n
    sent = sum(len(s) for s in streams)
    stored, raw_sent = stored_total, raw_total
    api_rate, raw_rate = stored / api_seconds, raw_sent / raw_seconds
    batch_ratio = statistics.median(round_ratios)
    print(
        f"  batches of 500: {sent:,} events sent, {stored:,} stored in {api_seconds:.1f}s = "
        f"{api_rate:,.0f} events/s stored ({sent / api_seconds:,.0f} sent/s) {counts}\n"
        f"  raw executemany: {raw_sent:,} events in {raw_seconds:.1f}s = {raw_rate:,.0f} events/s\n"
        f"  ratio {batch_ratio:.2f} (median of rounds {', '.join(f'{x:.2f}' for x in round_ratios)}; "
        f"target >= {BATCH_TARGET})",
        flush=True,
    )

    return {
        "events_sent": sent,
        "results": counts,
        "api_seconds": round(api_seconds, 2),
        "api_events_per_s": round(api_rate),
        "raw_events": raw_sent,
        "raw_seconds": round(raw_seconds, 2),
        "raw_events_per_s": round(raw_rate),
        "ratio": round(batch_ratio, 3),
        "round_ratios": [round(x, 3) for x in round_ratios],
        "target": BATCH_TARGET,
        "met": batch_ratio >= BATCH_TARGET,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    setup = SyncSetup(pg_admin_url=args.pg_admin_url, redis_url=args.redis_url)
    servers: list[Server] = []
    try:
        try:
            setup.check_available()
        except SetupUnavailable as exc:
            print(f"production: skipped: {exc}")
            return 0
        print("production: preparing (migrate, bundled catalog, partner)", flush=True)
        setup.create_storage()
        setup.flask("db", "upgrade")
        setup.flask("catalog", "import-bundled")
        setup.env["JOBS_QUEUE_PREFIX"] = setup.prefix  # the e-mail jobs it queues are removed after
        secret = _create_partner(setup.env)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        os.environ.setdefault("PORTAL_ENV", "production")
        portal_env, portal_conf = setup.env, CONF
        if args.profile:
            (setup.workdir / "profile").mkdir(exist_ok=True)
            portal_env = {**setup.env, "BENCH_PROFILE_DIR": str(setup.workdir / "profile")}
            portal_conf = Path(__file__).resolve().parent / "gunicorn_profile.py"
        portal = Server(
            "portal", "wsgi:app", portal_env, "/healthz", setup.workdir / "portal.log", conf=portal_conf
        )
        baseline = Server(
            "baseline", "bench.baseline_app:app", setup.env, "/", setup.workdir / "baseline.log"
        )
        _create_floor_table(setup.env["DATABASE_URL"])
        floor = Server(
            "floor",
            "bench.floor_app:app",
            {**setup.env, "BENCH_SYNC_SECRET": secret},
            "/",
            setup.workdir / "floor.log",
        )
        servers = [portal, baseline, floor]
        for server in servers:
            server.start()
        base_url = f"http://{HOST}:{portal.port}"

        batch = None if args.single_only else _batch_stage(args, setup, base_url, secret)

        # Open dossiers for the single events (not timed).
        from portal.sync import simulate

        opening = simulate.generate(
            PARTNER,
            dossiers=2000,
            events=2000,
            agency_code=AGENCY,
            procedure_code="1.001193",
            seed=5,
            code_suffix="-single",
        )
        simulate.send(base_url, PARTNER, secret, opening, batch=500)
        codes = sorted({e["dossier_code"] for e in opening})
        pool = _single_requests(portal.port, secret, codes, 60_000)
        results = run_interleaved(
            HOST,
            [
                Target("baseline", baseline.port, ["/"]),
                Target("single-event", portal.port, [], requests=pool),
                # The floor (bench/floor_app.py): only the I/O a single event cannot avoid.
                Target("floor-single", floor.port, [], requests=pool),
            ],
            concurrency=args.concurrency,
            seconds_per_target=args.duration,
            window=args.window,
        )
        base, single, floor_result = results["baseline"], results["single-event"], results["floor-single"]
        ratios = [r / b for r, b in zip(single.cycle_rps, base.cycle_rps, strict=True) if b]
        single_ratio = statistics.median(ratios) if ratios else 0.0
        floor_ratios = [r / b for r, b in zip(floor_result.cycle_rps, base.cycle_rps, strict=True) if b]
        floor_ratio = statistics.median(floor_ratios) if floor_ratios else 0.0
        print(
            f"  baseline {base.rps:,.0f} req/s; single events {single.rps:,.0f} req/s "
            f"(p50 {single.percentile(0.5) or 0:.1f} ms, wrong {dict(single.unexpected)}, errors {dict(single.errors)}, "
            f"most sent by a worker {single.most_sent_by_a_worker} of {len(pool)})\n"
            f"  ratio {single_ratio:.2f} (target >= {SINGLE_TARGET})\n"
            f"  floor (only the unavoidable I/O, bench/floor_app.py) {floor_result.rps:,.0f} req/s: ratio "
            f"{floor_ratio:.2f}, wrong {dict(floor_result.unexpected)}, errors {dict(floor_result.errors)}",
            flush=True,
        )
        if single.unexpected or single.errors:
            print("  portal log (tail):\n" + portal.log_tail(40), flush=True)
        profile = None
        if args.profile:
            portal.stop()  # the workers write their profiles as they exit
            profile = _report_profile(setup, args)
        report = {
            "when": datetime.now(UTC).isoformat(),
            "setup": setup.describe(),
            "batch": batch,
            "profile": profile,
            "single": {
                "baseline_rps": round(base.rps, 1),
                "single_event_rps": round(single.rps, 1),
                "cycle_ratios": [round(r, 3) for r in ratios],
                "ratio": round(single_ratio, 3),
                "target": SINGLE_TARGET,
                "met": single_ratio >= SINGLE_TARGET,
                "floor_rps": round(floor_result.rps, 1),
                "floor_ratio": round(floor_ratio, 3),
                "unexpected": dict(single.unexpected),
                "errors": dict(single.errors),
            },
        }
        args.results_dir.mkdir(parents=True, exist_ok=True)
        out = args.results_dir / f"sync-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"  results: {out}")
        return 0
    except (CommandFailed, ServerError) as exc:
        print(f"production: failed: {exc}", file=sys.stderr)
        for server in servers:
            print(server.log_tail(), file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        _empty_queues(setup)
        setup.cleanup()


def _create_partner(env: dict) -> str:
    """Create the partner and return its secret (not printed: it is read from the output)."""
    import subprocess

    from bench.server import REPO

    done = subprocess.run(
        [sys.executable, "-m", "flask", "partners", "create", PARTNER],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CommandFailed(done.stdout[-2000:] + done.stderr[-2000:])
    return done.stdout.strip().splitlines()[-1]


def _empty_queues(setup: ProductionSetup) -> None:
    try:
        from redis import Redis
        from rq import Queue

        connection = Redis.from_url(setup.redis_url)
        for name in ("default", "deliveries", "mail"):
            Queue(setup.prefix + name, connection=connection).empty()
    except Exception as exc:  # noqa: BLE001 - report and go on cleaning
        print(f"  could not empty the job queues: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
