"""``python -m bench``: catalog search, procedure pages and dossier lookups against a bare Flask baseline.

For each setup (embedded SQLite, production PostgreSQL + Redis) the benchmark prepares a
throw-away instance with the 7,000-procedure catalog and, for the lookup, a national-size
dossier table (1,000,000 dossiers on PostgreSQL), serves the portal and a bare Flask app
with the same gunicorn configuration (2 sync workers), and loads them in turn in short
windows: baseline, search, page, lookup, lookup, page, search, baseline, ... The result for
each target is its requests/s divided by the baseline's in the same cycle (the median over
the cycles), so the machine's speed, and most of what else runs on it, cancels out.

Exit status 0 whenever it measured (missing a target is a finding, not a crash) or skipped
a setup whose PostgreSQL or Redis is not reachable; 1 when a setup failed to prepare or serve.
"""

from __future__ import annotations

import argparse
import json
import math
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

from bench import lookup as lookup_load
from bench import report
from bench import webhook as webhook_load
from bench.dossiers import sample_lookups
from bench.load import Request, Target, run_interleaved, run_once
from bench.server import CONF, HOST, REPO, Server, ServerError
from bench.setups import CommandFailed, EmbeddedSetup, ProductionSetup, Setup, SetupUnavailable
from bench.targets import page_paths, read_catalog, search_paths

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGETS = (
    "baseline",
    "search",
    "page",
    "lookup",
    "lookup-api",
    "webhook",
    "stats",
)  # the baseline is always measured
CATALOG_TARGETS = ("search", "page", "stats")
# Lookups sent once before timing: cold-cache latencies, and the rate that sizes the pool.
PRIME_LOOKUPS = 200
# Prepared lookups per measured lookup second at the primed rate: the steady rate is higher
# than the cold one, and workers must not run out (a visitor reused posts more than its share).
LOOKUP_POOL_MARGIN = 3.0
# The JSON lookups come from client numbers from here on, so no address is shared with a visitor.
API_FIRST_CLIENT = 1_000_000
LOOKUP_TARGETS = ("lookup", "lookup-api")
# Machine targets measured against the floor too (bench/floor_app.py).
FLOOR_TARGETS = ("lookup-api", "webhook")
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
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS[1:]) + ",sync",
        help="comma-separated targets to measure besides the baseline: search, page, lookup, webhook, "
        "stats, sync (partner sync ingest on PostgreSQL, bench/sync.py) (default all)",
    )
    parser.add_argument("--procedures", type=int, default=7000, help="synthetic procedures (default 7000)")
    parser.add_argument(
        "--dossiers",
        type=int,
        default=1_000_000,
        help="filed dossiers in PostgreSQL for the lookup target (default 1,000,000)",
    )
    parser.add_argument(
        "--embedded-dossiers",
        type=int,
        default=100_000,
        help="filed dossiers in SQLite for the lookup target on the embedded setup (default 100,000; "
        "0 skips the lookup there)",
    )
    parser.add_argument(
        "--webhook-payments",
        type=int,
        default=10_000,
        help="open payments seeded for the webhook target, 3 events each (default 10,000)",
    )
    parser.add_argument(
        "--lookups-per-visitor",
        type=int,
        default=lookup_load.LOOKUPS_PER_VISITOR,
        help="lookups each simulated visitor posts after opening the form (default 5; the portal "
        "allows 10 per 15 minutes per address)",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL database to connect to for creating opendvc_bench",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the portal's workers under cProfile (CPU time) and print where it goes; "
        "the .prof files go beside the results. Slows the portal: its ratios are then not comparable",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.window <= 0 or args.concurrency < 1 or args.warmup_cycles < 0:
        parser.error("--duration, --window and --concurrency must be positive")
    chosen = [t.strip() for t in args.targets.split(",") if t.strip() and t.strip() != "baseline"]
    # Partner sync ingest (bench/sync.py) runs on its own, on PostgreSQL, after the others.
    args.sync = "sync" in chosen
    chosen = [t for t in chosen if t != "sync"]
    unknown = [t for t in chosen if t not in TARGETS]
    if unknown or not (chosen or args.sync):
        parser.error(f"--targets: choose among {', '.join(TARGETS[1:])} (not {', '.join(unknown) or 'none'})")
    args.targets = [t for t in TARGETS[1:] if t in chosen]
    if args.dossiers < 0 or args.embedded_dossiers < 0 or not 1 <= args.lookups_per_visitor <= 10:
        parser.error("--dossiers must be >= 0 and --lookups-per-visitor 1 to 10 (the portal's limit)")
    return args


def make_setups(args: argparse.Namespace) -> list[str]:
    return ["embedded", "production"] if args.setup == "both" else [args.setup]


def setup_targets(name: str, args: argparse.Namespace) -> list[str]:
    """The targets measured on this setup: the lookup needs dossiers, and the embedded setup
    may be told to skip it (``--embedded-dossiers 0``)."""
    dossiers = args.embedded_dossiers if name == "embedded" else args.dossiers
    return [t for t in args.targets if t not in LOOKUP_TARGETS or dossiers > 0]


def build_setup(name: str, args: argparse.Namespace) -> Setup:
    targets = setup_targets(name, args)
    # The synthetic catalog is only needed by the catalog targets.
    procedures = args.procedures if any(t in CATALOG_TARGETS for t in targets) else 0
    dossiers = (
        0
        if not set(LOOKUP_TARGETS) & set(targets)
        else (args.embedded_dossiers if name == "embedded" else args.dossiers)
    )
    if name == "embedded":
        return EmbeddedSetup(procedures, dossiers)
    return ProductionSetup(procedures, dossiers, pg_admin_url=args.pg_admin_url, redis_url=args.redis_url)


def measure_setup(setup: Setup, args: argparse.Namespace) -> dict:
    """Prepare, serve and load one setup; return its part of the results."""
    selected = setup_targets(setup.name, args)
    names = ["baseline", *selected]
    catalog_note = f"bundled + {setup.procedures} synthetic" if setup.procedures else "bundled only"
    print(
        f"\n== {setup.name}: preparing (targets: {', '.join(selected)}; procedures: {catalog_note}; "
        f"dossiers: {setup.dossiers:,})",
        flush=True,
    )
    if set(LOOKUP_TARGETS) & set(args.targets) and not set(LOOKUP_TARGETS) & set(selected):
        print(f"  lookup: skipped on {setup.name} (--embedded-dossiers 0)", flush=True)
    elif setup.name == "embedded" and set(LOOKUP_TARGETS) & set(selected) and setup.dossiers != args.dossiers:
        print(
            f"  lookup: {setup.dossiers:,} dossiers in SQLite (--embedded-dossiers), not the "
            f"{args.dossiers:,} the production setup gets",
            flush=True,
        )
    for key, value in setup.describe().items():
        print(f"  {key}={value}")
    if "webhook" in selected:
        setup.env.update(webhook_load.portal_env(getattr(setup, "prefix", "")))
    setup.prepare()
    webhook_payments = []
    if "webhook" in selected:
        webhook_payments = webhook_load.seed(setup.env["DATABASE_URL"], args.webhook_payments)
        print(f"  webhook: {len(webhook_payments):,} open payments seeded", flush=True)
    catalog = read_catalog(setup.env["DATABASE_URL"])
    paths = {"baseline": ["/"]}
    if "search" in selected:
        paths["search"] = search_paths(catalog["fields"], catalog["agencies"])
    if "page" in selected:
        paths["page"] = page_paths(catalog["codes"])
    if "stats" in selected:
        # The public statistics page (SVG charts of aggregates, cached for CACHE_TTL).
        paths["stats"] = ["/thong-ke", "/thong-ke?lang=en"]
    loading = ", ".join(f"{len(paths[t])} {t} URLs" for t in CATALOG_TARGETS if t in paths)
    print(
        f"  catalog: {catalog['procedures']} active procedures" + (f"; loading {loading}" if loading else ""),
        flush=True,
    )
    lookups = []
    if set(LOOKUP_TARGETS) & set(selected):
        # Enough distinct dossiers for any pool this machine can use; each code is posted once
        # (the page takes them from the front, the API from the back).
        lookups = sample_lookups(setup.env["DATABASE_URL"], min(setup.dossiers, 120_000))

    logs = setup.workdir / "logs"
    logs.mkdir(exist_ok=True)
    portal_env, portal_conf = setup.env, CONF
    if args.profile:
        profile_dir = setup.workdir / "profile"
        profile_dir.mkdir(exist_ok=True)
        portal_env = {**setup.env, "BENCH_PROFILE_DIR": str(profile_dir)}
        portal_conf = Path(__file__).resolve().parent / "gunicorn_profile.py"
    portal = Server("portal", "wsgi:app", portal_env, "/healthz", logs / "portal.log", conf=portal_conf)
    baseline = Server("baseline", "bench.baseline_app:app", setup.env, "/", logs / "baseline.log")
    servers = {
        "baseline": baseline,
        "search": portal,
        "page": portal,
        "lookup": portal,
        "lookup-api": portal,
        "webhook": portal,
        "stats": portal,
    }
    # The floor (bench/floor_app.py) answers the machine targets' own requests with only the
    # I/O they cannot avoid: the ceiling any code could reach here. PostgreSQL only.
    floors = {f"floor-{t}": t for t in FLOOR_TARGETS if t in selected and setup.name == "production"}
    floor = None
    if floors:
        _create_floor_table(setup.env["DATABASE_URL"])
        floor = Server("floor", "bench.floor_app:app", setup.env, "/", logs / "floor.log")
        servers.update(dict.fromkeys(floors, floor))
    requests: dict[str, list[Request]] = {}
    lookup_info: dict = {}
    try:
        baseline.start()
        portal.start()
        if floor is not None:
            floor.start()
        print(
            f"  gunicorn (2 sync workers): portal on :{portal.port}, baseline on :{baseline.port}", flush=True
        )

        # Every URL once, before anything is timed: fills the cache as steady traffic would,
        # and shows at once any URL that does not answer 2xx.
        primed = {}
        for target in (t for t in CATALOG_TARGETS if t in selected):
            result = run_once(HOST, portal.port, paths[target], concurrency=args.concurrency)
            primed[target] = result.summary()
            print(
                f"  primed {target}: {result.answered} URLs once (cold cache): "
                f"p50 {_num(result.percentile(0.5), '.1f')} ms, max {primed[target]['max_ms']} ms",
                flush=True,
            )
            _show_failures(target, result, primed[target], portal, paths[target])
        if "lookup" in selected:
            requests["lookup"], lookup_info, primed["lookup"] = prepare_lookups(setup, portal, lookups, args)
        if "lookup-api" in selected:
            requests["lookup-api"], primed["lookup-api"] = prepare_api_lookups(portal, lookups[::-1], args)
        if "webhook" in selected:
            requests["webhook"] = webhook_load.requests_for(HOST, portal.port, webhook_payments)
        for name, target in floors.items():
            requests[name] = requests[target]

        cycles = max(1, round(args.duration / args.window))
        print(
            f"  measuring: {cycles} cycles of {args.window}s windows per target "
            f"({args.duration:.0f}s each), after {args.warmup_cycles} warm-up cycle(s)",
            flush=True,
        )
        measured = run_interleaved(
            HOST,
            [Target(t, servers[t].port, paths.get(t, []), requests.get(t)) for t in [*names, *floors]],
            concurrency=args.concurrency,
            seconds_per_target=args.duration,
            window=args.window,
            warmup_cycles=args.warmup_cycles,
            cpu_probe=lambda: (
                baseline.cpu_seconds() + portal.cpu_seconds() + (floor.cpu_seconds() if floor else 0.0)
            ),
        )
    finally:
        portal.stop()
        baseline.stop()
        if floor is not None:
            floor.stop()
        if "webhook" in selected and getattr(setup, "redis_url", None):
            webhook_load.empty_queues(setup.redis_url, setup.prefix)
    profile = _report_profile(setup, args) if args.profile else None

    base = measured["baseline"]
    targets = {}
    for target in [*names, *floors]:
        result = measured[target]
        summary = result.summary()
        # Each cycle's ratio compares windows a second apart, so load from other processes
        # on the machine mostly cancels out; the median over the cycles is the figure judged.
        cycle_ratios = [r / b for r, b in zip(result.cycle_rps, base.cycle_rps, strict=True) if b]
        summary["cycle_ratios"] = [round(x, 3) for x in cycle_ratios]
        summary["ratio"] = round(statistics.median(cycle_ratios), 3) if cycle_ratios else None
        summary["ratio_of_totals"] = round(result.rps / base.rps, 3) if base.rps else None
        if target in floors:
            summary["floor_of"] = floors[target]
        elif target != "baseline":
            summary["target_ratio"] = webhook_load.TARGET if target == "webhook" else setup.target
            summary["pass"] = bool(
                summary["ratio"] is not None
                and summary["ratio"] >= summary["target_ratio"]
                and summary["unexpected"] == 0
                and summary["errors"] == 0
            )
        if target in LOOKUP_TARGETS:
            summary.update(lookup_info if target == "lookup" else {"dossiers": setup.dossiers})
            share = len(requests[target]) // args.concurrency
            summary["prepared_lookups_reused"] = result.most_sent_by_a_worker > share
            if summary["prepared_lookups_reused"]:
                print(
                    f"  ! {target}: a worker sent {result.most_sent_by_a_worker} lookups, more than its "
                    f"{share} prepared ones: some visitors posted twice their share (raise LOOKUP_POOL_MARGIN)",
                    flush=True,
                )
        targets[target] = summary
        print(
            f"  {target:8s} {result.rps:7.1f} req/s  ratio {_num(summary['ratio'], '.2f')}  "
            f"p50 {_num(result.percentile(0.5), '.1f')} ms  p99 {_num(result.percentile(0.99), '.1f')} ms  "
            f"server CPU {_num(result.server_cpu_ms_per_request, '.2f')} ms/req  "
            f"statuses {summary['statuses']}  unexpected {result.unexpected_count} "
            f"{summary['unexpected_kinds'] or ''} errors {result.error_count}",
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
            "search_urls": len(paths.get("search", [])),
            "page_urls": len(paths.get("page", [])),
        },
        "dossiers": setup.seeded or None,
        "profile": profile,
        "priming": primed,
        "targets": targets,
    }


def _create_floor_table(database_url: str) -> None:
    import psycopg

    from bench.floor_app import CREATE_TABLE

    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        connection.execute(CREATE_TABLE)


def prepare_lookups(setup: Setup, portal: Server, lookups: list, args: argparse.Namespace):
    """Prime the lookup, then open enough visitors for the timed windows.

    Returns (the prepared lookup requests, facts for the results, the priming summary).
    """
    per_visitor = args.lookups_per_visitor
    client = 0  # the next visitor's client number (its loopback address)

    def visitors(count: int, label: str):
        nonlocal client
        opened, result = lookup_load.open_visitors(
            HOST, portal.port, client, count, concurrency=args.concurrency
        )
        client += count
        # Whatever happens next, cleanup deletes these sessions from Redis.
        setup.session_ids.extend(sid for v in opened for sid in v.cookie_values())
        if len(opened) < count:
            summary = result.summary()
            print(
                f"  ! lookup form ({label}): {count - len(opened)} of {count} GETs gave no session and token: "
                f"{summary['statuses']} {summary['unexpected_kinds']} {summary['error_kinds']}",
                flush=True,
            )
            print("    portal log (last lines):\n" + portal.log_tail(12), flush=True)
        return opened, result

    priming = lookups[:PRIME_LOOKUPS]
    opened, _ = visitors(lookup_load.visitors_needed(len(priming), per_visitor), "priming")
    prime_requests = lookup_load.lookup_requests(HOST, portal.port, opened, priming, per_visitor)
    began = time.perf_counter()
    result = run_once(HOST, portal.port, prime_requests, concurrency=args.concurrency)
    elapsed = time.perf_counter() - began
    primed = result.summary()
    rate = result.answered / elapsed if elapsed > 0 else 0.0
    print(
        f"  primed lookup: {result.answered} lookups once from {len(opened)} visitors (cold): "
        f"p50 {_num(result.percentile(0.5), '.1f')} ms, max {primed['max_ms']} ms, {rate:.0f}/s",
        flush=True,
    )
    _show_failures("lookup", result, primed, portal, prime_requests)

    # Every measured lookup is a fresh dossier code from a visitor that has not used up its
    # share, so neither the per-address nor the per-code limit is ever reached.
    seconds = args.duration + args.warmup_cycles * args.window
    remaining = lookups[len(priming) :]
    wanted = max(400, math.ceil(rate * seconds * LOOKUP_POOL_MARGIN))
    if wanted > len(remaining):
        print(
            f"  ! lookup: only {len(remaining)} distinct dossiers sampled for {wanted} wanted lookups",
            flush=True,
        )
    pool = remaining[:wanted]
    began = time.perf_counter()
    opened, forms = visitors(lookup_load.visitors_needed(len(pool), per_visitor), "pool")
    form_seconds = time.perf_counter() - began
    prepared = lookup_load.lookup_requests(HOST, portal.port, opened, pool, per_visitor)
    found = sum(1 for r in prepared if r.status == 200)
    form = forms.summary()
    print(
        f"  lookup: {len(prepared)} lookups prepared ({found} right code and number, "
        f"{len(prepared) - found} wrong code or number) for {len(opened)} visitors; their form GETs "
        f"({form_seconds:.1f}s, before timing): p50 {_num(forms.percentile(0.5), '.1f')} ms, "
        f"p99 {_num(forms.percentile(0.99), '.1f')} ms",
        flush=True,
    )
    info = {
        "dossiers": setup.dossiers,
        "visitors": len(opened),
        "lookups_per_visitor": per_visitor,
        "prepared_lookups": len(prepared),
        "prepared_found": found,
        "form_get": {k: form[k] for k in ("ok", "unexpected", "errors", "p50_ms", "p99_ms", "max_ms")},
    }
    return prepared, info, primed


def prepare_api_lookups(portal: Server, lookups: list, args: argparse.Namespace):
    """Prime the JSON lookup, then prepare enough distinct lookups for the timed windows.

    Returns (the prepared requests, the priming summary).
    """
    per_address = args.lookups_per_visitor
    priming = lookup_load.api_requests(
        HOST, portal.port, API_FIRST_CLIENT, lookups[:PRIME_LOOKUPS], per_address
    )
    began = time.perf_counter()
    result = run_once(HOST, portal.port, priming, concurrency=args.concurrency)
    elapsed = time.perf_counter() - began
    primed = result.summary()
    rate = result.answered / elapsed if elapsed > 0 else 0.0
    print(
        f"  primed lookup-api: {result.answered} JSON lookups once (cold): "
        f"p50 {_num(result.percentile(0.5), '.1f')} ms, max {primed['max_ms']} ms, {rate:.0f}/s",
        flush=True,
    )
    _show_failures("lookup-api", result, primed, portal, priming)
    seconds = args.duration + args.warmup_cycles * args.window
    remaining = lookups[PRIME_LOOKUPS:]
    wanted = max(400, math.ceil(rate * seconds * LOOKUP_POOL_MARGIN))
    if wanted > len(remaining):
        print(
            f"  ! lookup-api: only {len(remaining)} distinct dossiers sampled for {wanted} wanted", flush=True
        )
    first = API_FIRST_CLIENT + math.ceil(PRIME_LOOKUPS / per_address)
    prepared = lookup_load.api_requests(HOST, portal.port, first, remaining[:wanted], per_address)
    found = sum(1 for r in prepared if r.status == 200)
    print(
        f"  lookup-api: {len(prepared)} JSON lookups prepared ({found} right code and number, "
        f"{len(prepared) - found} wrong), {per_address} per client address",
        flush=True,
    )
    return prepared, primed


_PROFILE_SHOWN = (
    r"/portal/|/services_catalog/|flask/app.py.*(full_dispatch|preprocess|process_response|do_teardown)|"
    r"flask/templating.py.*_render|flask_wtf/csrf.py.*protect|flask_session/base.py.*(open|save)_session|"
    r"portal/ratelimit.py.*default_rate_limit|sqlalchemy/orm/session.py.*(_execute_internal|get)\b|"
    r"sqlalchemy/orm/strategies.py.*_load_for_state|redis/client.py.*execute_command|jinja2/environment.py.*render"
)


def _site_packages() -> str:
    import sysconfig

    return sysconfig.get_paths()["purelib"] + "/"


def _report_profile(setup: Setup, args: argparse.Namespace) -> dict:
    """Merge the workers' profiles, print the top of them, keep the files beside the results."""
    import pstats
    import shutil
    from io import StringIO

    files = sorted((setup.workdir / "profile").glob("portal-*.prof"))
    if not files:
        print("  ! profile: the portal's workers wrote no profile (see the portal log)", flush=True)
        return {"files": []}
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = []
    for path in files:
        target = args.results_dir / f"{stamp}-{setup.name}-{path.name}"
        shutil.copyfile(path, target)
        kept.append(str(target))
    out = StringIO()
    stats = pstats.Stats(*map(str, files), stream=out)
    # The portal's own functions and the libraries' entry points, by the time spent under them.
    stats.sort_stats("cumulative").print_stats(_PROFILE_SHOWN, 45)
    stats.sort_stats("tottime").print_stats(15)
    text = out.getvalue().replace(str(REPO) + "/", "").replace(_site_packages(), "")
    print("  profile (CPU seconds, both workers; the ratios of this run are not comparable):", flush=True)
    print("\n".join("    " + line for line in text.splitlines() if line.strip()), flush=True)
    return {
        "files": kept,
        "note": "profiled run: the portal ran under cProfile, its ratios are not comparable",
    }


def _show_failures(target: str, result, summary: dict, portal: Server, requests) -> None:
    if result.unexpected_count or result.error_count:
        print(
            f"  ! priming {target}: {result.unexpected_count} unexpected {summary['statuses']} "
            f"{summary['unexpected_kinds']}, {result.error_count} errors {summary['error_kinds']}",
            flush=True,
        )
        print(f"    e.g. {_first_failing(portal.port, requests)}", flush=True)
        print("    portal log (last lines):\n" + portal.log_tail(12), flush=True)


def _first_failing(port: int, requests: list[str] | list[Request]) -> str:
    from bench.load import build_request, fetch

    for item in requests:
        request = item if isinstance(item, Request) else Request(build_request(HOST, port, item))
        label = item if isinstance(item, str) else request.data.split(b"\r\n", 1)[0].decode(errors="replace")
        try:
            status, body = fetch(HOST, port, request.data, request.source)
        except OSError as exc:
            return f"{label} -> {type(exc).__name__}"
        wrong = request.verdict(status, body)
        if wrong:
            return f"{label} -> {wrong} {body[:160]!r}"
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
        for name in make_setups(args) if args.targets else []:
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
    sync_failed = False
    if args.sync and args.setup in ("production", "both"):
        from bench import sync as sync_bench

        print("\n== partner sync (bench/sync.py)", flush=True)
        sync_failed = (
            sync_bench.main(
                [
                    "--pg-admin-url",
                    args.pg_admin_url,
                    "--redis-url",
                    args.redis_url,
                    "--duration",
                    str(args.duration),
                ]
                + ["--window", str(args.window), "--concurrency", str(args.concurrency)]
                + ["--results-dir", str(args.results_dir)]
            )
            != 0
        )
    results["total_seconds"] = round(time.perf_counter() - clock, 1)
    if not results["setups"]:
        return 1 if sync_failed else 0

    print()
    print(report.table(results))
    path = write_results(results, args.results_dir, started)
    print(f"\nresults: {path}")
    failed = [n for n, s in results["setups"].items() if s["status"] == "failed"]
    return 1 if failed or sync_failed else 0


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
