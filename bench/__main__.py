"""``python -m bench``: catalog search and procedure pages against a bare Flask baseline.

For each setup (embedded SQLite, production PostgreSQL + Redis) the benchmark prepares a
throw-away instance with the 7,000-procedure catalog, serves the portal and a bare Flask app
with the same gunicorn configuration (2 sync workers), and loads them in turn in short
windows: baseline, search, page, page, search, baseline, ... The result for each target is
its requests/s divided by the baseline's in the same cycle (the median over the cycles), so
the machine's speed, and most of what else runs on it, cancels out.

Exit status 0 whenever it measured (missing a target is a finding, not a crash) or skipped
a setup whose PostgreSQL or Redis is not reachable; 1 when a setup failed to prepare or serve.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.load import Target, run_interleaved, run_once
from bench.server import HOST, Server, ServerError
from bench.setups import CommandFailed, EmbeddedSetup, ProductionSetup, Setup, SetupUnavailable
from bench.targets import page_paths, read_catalog, search_paths

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGETS = ("baseline", "search", "page")
# Baseline cycles further apart than this (90th / 10th percentile) mean the machine was busy.
BUSY_SPREAD = 1.5
# The 1-minute load average before the benchmark started anything of its own.
_load_at_start = os.getloadavg()[0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=("embedded", "production", "both"), default="both")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds measured per target and setup (default 10)"
    )
    parser.add_argument(
        "--window",
        type=float,
        default=0.5,
        help="seconds each target is loaded before the next one's turn (default 0.5)",
    )
    parser.add_argument(
        "--warmup-cycles", type=int, default=1, help="unmeasured cycles through the targets first (default 1)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="client processes, each with one request in flight (default 4)",
    )
    parser.add_argument("--procedures", type=int, default=7000, help="synthetic procedures (default 7000)")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL database to connect to for creating opendvc_bench",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.window <= 0 or args.concurrency < 1 or args.warmup_cycles < 0:
        parser.error("--duration, --window and --concurrency must be positive")
    return args


def make_setups(args: argparse.Namespace) -> list[str]:
    return ["embedded", "production"] if args.setup == "both" else [args.setup]


def build_setup(name: str, args: argparse.Namespace) -> Setup:
    if name == "embedded":
        return EmbeddedSetup(args.procedures)
    return ProductionSetup(args.procedures, pg_admin_url=args.pg_admin_url, redis_url=args.redis_url)


def measure_setup(setup: Setup, args: argparse.Namespace) -> dict:
    """Prepare, serve and load one setup; return its part of the results."""
    print(f"\n== {setup.name}: preparing (procedures: bundled + {args.procedures} synthetic)", flush=True)
    for key, value in setup.describe().items():
        print(f"  {key}={value}")
    setup.prepare()
    catalog = read_catalog(setup.env["DATABASE_URL"])
    paths = {
        "baseline": ["/"],
        "search": search_paths(catalog["fields"], catalog["agencies"]),
        "page": page_paths(catalog["codes"]),
    }
    print(
        f"  catalog: {catalog['procedures']} active procedures; loading {len(paths['search'])} searches, "
        f"{len(paths['page'])} procedure pages",
        flush=True,
    )

    logs = setup.workdir / "logs"
    logs.mkdir(exist_ok=True)
    portal = Server("portal", "wsgi:app", setup.env, "/healthz", logs / "portal.log")
    baseline = Server("baseline", "bench.baseline_app:app", setup.env, "/", logs / "baseline.log")
    servers = {"baseline": baseline, "search": portal, "page": portal}
    try:
        baseline.start()
        portal.start()
        print(
            f"  gunicorn (2 sync workers): portal on :{portal.port}, baseline on :{baseline.port}", flush=True
        )

        # Every URL once, before anything is timed: fills the cache as steady traffic would,
        # and shows at once any URL that does not answer 2xx.
        primed = {}
        for target in ("search", "page"):
            result = run_once(HOST, portal.port, paths[target], concurrency=args.concurrency)
            primed[target] = result.summary()
            print(
                f"  primed {target}: {result.answered} URLs once (cold cache): "
                f"p50 {_num(result.percentile(0.5), '.1f')} ms, max {primed[target]['max_ms']} ms",
                flush=True,
            )
            if result.non_2xx or result.error_count:
                print(
                    f"  ! priming {target}: {result.non_2xx} non-2xx {primed[target]['statuses']}, "
                    f"{result.error_count} errors {primed[target]['error_kinds']}",
                    flush=True,
                )
                print(f"    e.g. {_first_failing(portal.port, paths[target])}", flush=True)
                print("    portal log (last lines):\n" + portal.log_tail(12), flush=True)

        cycles = max(1, round(args.duration / args.window))
        print(
            f"  measuring: {cycles} cycles of {args.window}s windows per target "
            f"({args.duration:.0f}s each), after {args.warmup_cycles} warm-up cycle(s)",
            flush=True,
        )
        measured = run_interleaved(
            HOST,
            [Target(t, servers[t].port, paths[t]) for t in TARGETS],
            concurrency=args.concurrency,
            seconds_per_target=args.duration,
            window=args.window,
            warmup_cycles=args.warmup_cycles,
            cpu_probe=lambda: baseline.cpu_seconds() + portal.cpu_seconds(),
        )
    finally:
        portal.stop()
        baseline.stop()

    base = measured["baseline"]
    targets = {}
    for target in TARGETS:
        result = measured[target]
        summary = result.summary()
        # Each cycle's ratio compares windows a second apart, so load from other processes
        # on the machine mostly cancels out; the median over the cycles is the figure judged.
        cycle_ratios = [r / b for r, b in zip(result.cycle_rps, base.cycle_rps, strict=True) if b]
        summary["cycle_ratios"] = [round(x, 3) for x in cycle_ratios]
        summary["ratio"] = round(statistics.median(cycle_ratios), 3) if cycle_ratios else None
        summary["ratio_of_totals"] = round(result.rps / base.rps, 3) if base.rps else None
        if target != "baseline":
            summary["target_ratio"] = setup.target
            summary["pass"] = bool(
                summary["ratio"] is not None
                and summary["ratio"] >= setup.target
                and summary["non_2xx"] == 0
                and summary["errors"] == 0
            )
        targets[target] = summary
        print(
            f"  {target:8s} {result.rps:7.1f} req/s  ratio {_num(summary['ratio'], '.2f')}  "
            f"p50 {_num(result.percentile(0.5), '.1f')} ms  p99 {_num(result.percentile(0.99), '.1f')} ms  "
            f"server CPU {_num(result.server_cpu_ms_per_request, '.2f')} ms/req  "
            f"non-2xx {result.non_2xx}  errors {result.error_count}",
            flush=True,
        )
    spread = _spread(base.cycle_rps)
    noise = {
        "baseline_cycle_spread_p90_p10": round(spread, 2) if spread else None,
        # Other processes took CPU while this ran: the ratios may be off; run again.
        "busy": bool(spread is None or spread > BUSY_SPREAD or _load_at_start > (os.cpu_count() or 1)),
    }
    return {
        "status": "measured",
        "noise": noise,
        "target_ratio": setup.target,
        "environment": setup.describe(),
        "prepare_seconds": setup.timings,
        "catalog": {
            "active_procedures": catalog["procedures"],
            "search_urls": len(paths["search"]),
            "page_urls": len(paths["page"]),
        },
        "priming": primed,
        "targets": targets,
    }


def _first_failing(port: int, paths: list[str]) -> str:
    from bench.load import build_request, fetch

    for path in paths:
        try:
            status, body = fetch(HOST, port, build_request(HOST, port, path))
        except OSError as exc:
            return f"{path} -> {type(exc).__name__}"
        if not 200 <= status < 300:
            return f"{path} -> HTTP {status} {body[:160]!r}"
    return "(none failed on a second try)"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _spread(values: list[float]) -> float | None:
    """How far apart the slow and fast cycles are: 90th percentile over 10th."""
    ordered = sorted(v for v in values if v > 0)
    if len(ordered) < 2:
        return None
    low = ordered[int(0.1 * (len(ordered) - 1))]
    high = ordered[round(0.9 * (len(ordered) - 1))]
    return high / low


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A CI timeout or `kill` cleans up like Ctrl-C: servers stopped, database dropped.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    started = datetime.now(UTC)
    results = {
        "started_at": started.isoformat(),
        "machine": {
            "load_average_at_start": round(_load_at_start, 2),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "options": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("pg_admin_url",)
        },
        "server": "gunicorn, bench/gunicorn_conf.py: 2 sync workers, no preload, no access log; "
        "the same for the portal (wsgi:app) and the baseline (bench.baseline_app:app)",
        "client": f"{args.concurrency} processes, one connection per request (Connection: close), "
        f"targets interleaved in {args.window}s windows, {args.warmup_cycles} unmeasured warm-up cycle(s)",
        "setups": {},
    }
    print(f"OpenDVC bench: {results['server']}\n  client: {results['client']}", flush=True)
    clock = time.perf_counter()
    try:
        for name in make_setups(args):
            setup = build_setup(name, args)
            try:
                setup.check_available()
                results["setups"][name] = measure_setup(setup, args)
            except SetupUnavailable as exc:
                print(f"\n== {name}: SKIPPED - {exc}", flush=True)
                results["setups"][name] = {"status": "skipped", "reason": str(exc)}
            except (CommandFailed, ServerError) as exc:
                print(f"\n== {name}: FAILED - {exc}", file=sys.stderr, flush=True)
                results["setups"][name] = {"status": "failed", "reason": str(exc)[:4000]}
            except Exception as exc:  # noqa: BLE001 - report, then try the next setup
                traceback.print_exc()
                print(f"\n== {name}: FAILED - {exc!r}", file=sys.stderr, flush=True)
                results["setups"][name] = {"status": "failed", "reason": str(exc)[:4000]}
            finally:
                setup.cleanup()
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temporary data removed", file=sys.stderr)
        return 130
    results["total_seconds"] = round(time.perf_counter() - clock, 1)

    print()
    print(report.table(results))
    path = write_results(results, args.results_dir, started)
    print(f"\nresults: {path}")
    failed = [n for n, s in results["setups"].items() if s["status"] == "failed"]
    return 1 if failed else 0


def write_results(results: dict, directory: Path, started: datetime) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(results, handle, ensure_ascii=False, indent=2)
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    sys.exit(main())
