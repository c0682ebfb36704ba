"""``python -m bench [--quick] [--output docs/benchmarks.md]``: run every benchmark and write the report.

Exit status 0 when every benchmark ran (missed targets are reported, not fatal; so are unavailable optional
tools: wrk, waitress, granian, Prism); 1 when a benchmark crashed (the report lists it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import (
    bench_api,
    bench_dashboard,
    bench_doors,
    bench_frontend,
    bench_identity,
    bench_lifecycle,
    bench_mail,
    bench_plugin,
    bench_proxy,
    bench_replicas,
    bench_sandboxes,
    bench_sequence,
    bench_testconnection,
    report,
    servers,
)
from ._common import ROOT, Mode, Row, machine
from .loadgen import available_tool

SMTP_SECTION = "SMTP sink and client (bench/bench_smtp.py, against bare aiosmtpd)"


def _smtp(mode: Mode) -> list[Row]:
    """``bench_smtp.run``'s rows in the report's shape (its own targets: ratio for msg/s, ms maximum)."""
    from . import bench_smtp

    rows = []
    for r in bench_smtp.run(quick=mode.quick):
        r = dict(r)
        latency = r["unit"] == "ms"
        r.update(
            section=SMTP_SECTION,
            name=r["name"].replace("testconnection round trip", "testconnection SMTP session, client level"),
            target_kind="max" if latency else "ratio_min",
            baseline_name="the same against bare aiosmtpd",
            detail=(
                f"CPU per message: sink {r['cpu_us_per_msg']:.0f} µs, bare {r['baseline_cpu_us_per_msg']:.0f} µs "
                f"(bare/sink {r['cpu_ratio']:.2f}, hardly load-dependent)"
                if "cpu_ratio" in r
                else ""
            ),
        )
        rows.append(r)
    return rows


#: each group's parts run separately: one that crashes is reported and the others' rows are kept
BENCHMARKS: dict[str, list[Callable[[Mode], list[Row]]]] = {
    "api": [bench_api.throughput, bench_api.breakdown, bench_api.list_growth, bench_mail.check_growth],
    "identity": [bench_identity.costs, bench_identity.smtp_settings],
    "sequence": [bench_sequence.run],
    "testconnection": [bench_testconnection.run],
    "smtp": [_smtp],
    "lifecycle": [
        bench_lifecycle.cold_start,
        bench_lifecycle.reset,
        bench_lifecycle.memory,
        bench_lifecycle.large_mail_memory,
    ],
    "dashboard": [bench_dashboard.page_load, bench_dashboard.feed_cost],
    "sandboxes": [bench_sandboxes.throughput, bench_sandboxes.memory],
    "replicas": [bench_replicas.throughput],
    "frontend": [bench_frontend.engines, bench_frontend.anchors, bench_frontend.lifecycle],
    "plugin": [bench_plugin.pytest_start, bench_plugin.import_time],
    "doors": [bench_doors.memory, bench_doors.host_stall],
    "proxy": [bench_proxy.run],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny runs, no Prism, no wrk needed: checks the harness works (< 60 s)"
    )
    parser.add_argument("--output", default="docs/benchmarks.md", help="where to write the report (Markdown)")
    parser.add_argument("--json", help="also write the rows as JSON here")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator for throughput rows (auto: wrk when installed)",
    )
    parser.add_argument("--no-prism", action="store_true", help="skip the Prism comparison")
    parser.add_argument(
        "--install-prism",
        action="store_true",
        help="npm install @stoplight/prism-cli@5 into bench/.prism first (needs npm)",
    )
    parser.add_argument(
        "--install-wiremock",
        action="store_true",
        help="npm install wiremock@3 (it ships the standalone jar; needs npm and java) into bench/.wiremock first",
    )
    parser.add_argument("--from-json", help="re-render the report from a --json file of an earlier run (no runs)")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        text = report.render(
            saved["rows"],
            saved["machine"],
            quick=saved.get("quick", False),
            elapsed_s=saved.get("elapsed_s", 0.0),
            command=saved.get("command", "python -m bench"),
            errors=saved.get("errors", []),
        )
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        return 0

    selected = list(BENCHMARKS) if not args.only else [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in selected if s not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.install_prism and not args.quick:
        problem = servers.install_prism()
        if problem:
            print(f"bench: could not install prism ({problem}); its row will be skipped", file=sys.stderr)

    if args.install_wiremock and not args.quick:
        problem = bench_frontend.install_wiremock()
        if problem:
            print(f"bench: could not install wiremock ({problem}); its rows will be skipped", file=sys.stderr)

    mode = Mode.make(args.quick, loadgen=args.loadgen, prism=not args.no_prism)
    tool = available_tool(mode.loadgen)
    info = machine({"prism": servers.prism_version()} if not args.quick else None)
    info["loadgen"] = (
        "wrk (-t1 -c4, separate process)"
        if tool == "wrk"
        else "Python keep-alive client (bench/loadgen.py, separate process; wrk not installed or not chosen)"
    )
    started = time.perf_counter()
    rows: list[Row] = []
    errors: list[str] = []
    for name in selected:
        t0 = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        for part in BENCHMARKS[name]:
            try:
                rows += part(mode)
            except Exception as exc:  # noqa: BLE001 - reported, the other benchmarks still run
                traceback.print_exc()
                errors.append(f"{name} ({part.__name__}): {type(exc).__name__}: {exc}")
        print(f"bench: {name} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    info["load_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None

    command = "python -m bench" + (" --quick" if args.quick else "")
    text = report.render(rows, info, quick=args.quick, elapsed_s=elapsed, command=command, errors=errors)
    output = Path(args.output)
    if not output.is_absolute():
        output = Path.cwd() / output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    if args.json:
        saved = {
            "machine": info,
            "rows": rows,
            "quick": args.quick,
            "elapsed_s": elapsed,
            "command": command,
            "errors": errors,
        }
        Path(args.json).write_text(json.dumps(saved, indent=2, default=str) + "\n", encoding="utf-8")
    _summary(rows)
    print(f"bench: wrote {_shown(output)} in {elapsed:.1f} s", file=sys.stderr)
    return 1 if errors else 0


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _summary(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        mark = report.result_text(r)
        value = "—" if r.get("skipped") else f"{report.fmt(r['median'], r['unit'])} {r['unit']}"
        ratio = f" ({r['ratio']:.2f}x)" if r.get("ratio") is not None and r.get("baseline_name") != "itself" else ""
        print(f"  {mark:>10}  {value:>14}{ratio:<9} {r['name']}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
