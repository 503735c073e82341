"""The printed table: per setup and target, requests/s, ratio to the baseline, latencies."""

from __future__ import annotations

LABELS = {
    "baseline": "bare Flask JSON (baseline)",
    "search": "search API /api/v1/procedures",
    "page": "procedure page /thu-tuc/<code>",
    "lookup": "dossier lookup POST /tra-cuu-ho-so",
    "lookup-api": "dossier lookup JSON POST /api/v1/dossiers/lookup",
    "webhook": "payment webhook POST (3 events/pay)",
    "stats": "public statistics /thong-ke",
    "floor-lookup-api": "  floor: same lookups, I/O only",
    "floor-webhook": "  floor: same events, I/O only",
}


def _num(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(results: dict) -> str:
    header = (
        f"{'setup':11s} {'target':32s} {'req/s':>8s} {'ratio':>6s} {'p50 ms':>7s} {'p99 ms':>7s} "
        f"{'cpu/req':>7s} {'ok':>7s} {'wrong':>7s} {'errors':>6s}  verdict"
    )
    lines = [header, "-" * len(header)]
    verdicts = []
    for name, setup in results["setups"].items():
        if setup["status"] != "measured":
            lines.append(f"{name:11s} {setup['status'].upper()}: {setup['reason'].splitlines()[0][:110]}")
            continue
        for target, row in setup["targets"].items():
            if target == "baseline":
                verdict = "(reference)"
            elif "floor_of" in row:
                verdict = f"(ceiling for {row['floor_of']}: bench/floor_app.py)"
            else:
                goal = f"ratio >= {row['target_ratio']}"
                if row.get("unexpected", row["non_2xx"]) or row["errors"]:
                    verdict = f"FAIL ({goal}; and failing requests)"
                else:
                    verdict = ("PASS" if row["pass"] else "FAIL") + f" ({goal})"
                verdicts.append(f"{name} {target}: {verdict.split()[0]}")
            lines.append(
                f"{name:11s} {LABELS[target]:32s} {_num(row['requests_per_second'], '8.1f')} "
                f"{_num(row['ratio'], '6.2f')} {_num(row['p50_ms'], '7.1f')} {_num(row['p99_ms'], '7.1f')} "
                f"{_num(row['server_cpu_ms_per_request'], '7.2f')} "
                f"{row['ok']:7d} {row.get('unexpected', row['non_2xx']):7d} {row['errors']:6d}  {verdict}"
            )
    lines.append("")
    lines.append(
        "ratio = the target's requests/s over the baseline's in the same cycle, median over the cycles; "
        "p50/p99 over all cycles;\ncpu/req = CPU ms the server's processes used per answered request "
        "(steadier than req/s when other processes share the machine);\nok = answered as expected "
        "(2xx; for lookups the result page, or 404 for a wrong code or number), wrong = any other answer;\n"
        "floor = bench/floor_app.py answering the same requests with only the I/O they cannot avoid (one "
        "Redis call, the SQL, the commit): the ceiling any code reaches on this machine."
    )
    for name, setup in results["setups"].items():
        row = (setup.get("targets") or {}).get("lookup")
        if row:
            form = row.get("form_get") or {}
            lines.append(
                f"lookup ({name}): {row['dossiers']:,} dossiers; {row['visitors']} visitors each opened the form "
                f"once (GET, before timing: p50 {form.get('p50_ms')} ms, p99 {form.get('p99_ms')} ms) and posted "
                f"up to {row['lookups_per_visitor']} lookups from its own address; "
                f"{row['prepared_found']} of {row['prepared_lookups']} prepared lookups are right, the rest 404."
            )
    for name, setup in results["setups"].items():
        noise = setup.get("noise") or {}
        if noise.get("busy"):
            lines.append(
                f"WARNING {name}: other processes were using the machine (load average "
                f"{results['machine']['load_average_at_start']} at start; baseline cycles "
                f"{noise['baseline_cycle_spread_p90_p10']}x apart): the ratios are less sure; "
                "run again on a quiet machine."
            )
    if verdicts:
        lines.append("targets: " + "; ".join(verdicts))
    return "\n".join(lines)
