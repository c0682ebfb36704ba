"""Writes ``docs/benchmarks.md`` from the rows of a run. The notes are part of the harness, not of the output file:
the report is regenerated, never edited."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._common import Row

FORMATS = {"req/s": "{:,.0f}", "msg/s": "{:,.0f}", "ms": "{:.2f}", "s": "{:.3f}", "MB": "{:.1f}", "µs": "{:,.0f}"}

#: why cxmock runs on cheroot (issue #6); printed in every report next to the measured servers
WSGI_CHOICE = (
    "cxmock serves on **cheroot**, in-process, for both the pytest fixtures and `cxmock serve` (one server, so the "
    "fault tests cover what users run). Cheroot is production-grade, pure Python, embeddable in a thread on an "
    "ephemeral port (`MockServer()`, pytest-xdist workers), and its connection object is reachable from the WSGI "
    "gateway, which is what makes the connection-level faults real: drop with a FIN, reset with a RST, hang "
    "(`mockserver/_http_server.py`). werkzeug's server is a development server. waitress's sockets belong to its "
    "asyncore channel thread while the app runs in a task thread, with no handle on the connection. granian is "
    "the fastest here, but it runs as its own server process whose Rust I/O layer never hands the socket to "
    "Python: neither the in-process fixture nor the socket-level faults would work on it, and running it as a "
    "second server for `serve` would double the fault-test matrix. The rows below measure a bare Flask route on "
    "each server in this run, as context for that choice."
)

#: explanations printed when a row misses its target: (name prefix, text)
MISS_NOTES: list[tuple[str, str]] = []

METHOD = [
    "Each row is the median over its runs (a run's value is a rate over the whole run, or the median latency of "
    "that run's requests); min and max are over the same runs. The baseline is measured in the same run, "
    "interleaved with the measured thing, so the ratio is robust to machine drift even when the absolute "
    "numbers are not.",
    "Throughput: a separate load-generator process (`wrk -t1 -c4 --latency`, or the Python keep-alive client "
    "`bench/loadgen.py` when wrk is absent) keeps 4 connections busy for the run's duration; p50/p99 are the "
    "load generator's latencies (medians over runs). cxmock and the cheroot baseline run in the harness process "
    "as they do in a test suite; every request of cxmock's runs carries a bearer token and is authenticated, "
    "negotiated, offered to the fault engine and journaled.",
    "Latency rows (list growth, testconnection, reset) use one keep-alive `http.client` connection from the "
    "harness process, sequentially, as a test does.",
    "Cold start: a fresh `python` process per run, timed from spawn to the first line it prints once "
    "`MockServer()` returned (HTTP answering, both SMTP listeners answering, TLS CA and certificate generated). "
    "RSS: a fresh server process, filled by the harness over HTTP and SMTP, measured from `/proc` after "
    "`gc.collect()`.",
    "The machine is shared: other work running at the same time shows as spread (min-max) and in the load "
    "average printed above; ratios to the in-run baselines are the numbers to compare across runs.",
]


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return FORMATS.get(unit, "{:.3g}").format(value)


def target_text(r: Row) -> str:
    target, kind, unit = r.get("target"), r.get("target_kind"), r["unit"]
    if target is None or kind is None:
        return "—"
    return {
        "max": f"≤ {fmt(target, unit)} {unit}",
        "min": f"≥ {fmt(target, unit)} {unit}",
        "ratio_min": f"≥ {target:g}× baseline",
        "ratio_max": f"≤ {target:g}× baseline",
    }[kind]


def result_text(r: Row) -> str:
    if r.get("skipped"):
        return f"skipped ({r['skipped']})"
    if r.get("passed") is None:
        return "context"
    return "pass" if r["passed"] else "**MISS**"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[Row]) -> list[str]:
    out = [
        "| benchmark | runs | median | min – max | baseline (median) | ratio | target | result | notes |",
        "| --- | --: | --: | --: | --- | --: | --- | --- | --- |",
    ]
    for r in rows:
        unit = r["unit"]
        if r.get("skipped"):
            out.append(f"| {_cell(r['name'])} | 0 | — | — | — | — | {target_text(r)} | {_cell(result_text(r))} | |")
            continue
        base = "—"
        if r.get("baseline_median") is not None and r.get("baseline_name") != "itself":
            base = f"{_cell(r.get('baseline_name') or 'baseline')}: {fmt(r['baseline_median'], unit)} {unit}"
        ratio = "—" if r.get("ratio") is None or r.get("baseline_name") == "itself" else f"{r['ratio']:.2f}×"
        out.append(
            f"| {_cell(r['name'])} | {r['runs']} | **{fmt(r['median'], unit)}** {unit} | "
            f"{fmt(r['min'], unit)} – {fmt(r['max'], unit)} | {base} | {ratio} | {target_text(r)} | "
            f"{result_text(r)} | {_cell(r.get('detail') or '')} |"
        )
    return out


def render(
    rows: Sequence[Row],
    info: dict[str, Any],
    *,
    quick: bool,
    elapsed_s: float,
    command: str,
    errors: Sequence[str] = (),
) -> str:
    lines = [
        "# cxmock benchmarks",
        "",
        f"<!-- GENERATED by `{command}`: do not edit by hand, re-run the harness. -->",
        "",
        f"Generated by `{command}` on {info['date']} in {elapsed_s:.0f} s"
        + (" — **quick mode: tiny runs, a smoke test of the harness; these numbers mean nothing.**" if quick else "."),
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        f"| CPU | {info['cpu']} |",
        f"| cores | {info['cores']} |",
        f"| RAM | {info['ram']} |",
        f"| OS | {info['os']} |",
        f"| Python | {info['python']} |",
        "| load average (1, 5, 15 min) | before: "
        + (", ".join(f"{x:.2f}" for x in info["load_before"]) if info.get("load_before") else "n/a")
        + "; after: "
        + (", ".join(f"{x:.2f}" for x in info["load_after"]) if info.get("load_after") else "n/a")
        + " |",
        "| packages | " + ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v) + " |",
        "| not installed | " + (", ".join(k for k, v in info["packages"].items() if not v) or "—") + " |",
        "| tools | " + ", ".join(f"{k}: {v or 'not installed'}" for k, v in info["tools"].items()) + " |",
        "| load generator | " + info.get("loadgen", "") + " |",
        "",
    ]
    targeted = [r for r in rows if r.get("target") is not None]
    missed = [r for r in targeted if r.get("passed") is False]
    lines += ["## Targets", ""]
    lines += [
        "| benchmark | median | target | result |",
        "| --- | --: | --- | --- |",
    ]
    for r in targeted:
        value = "—" if r.get("skipped") else f"{fmt(r['median'], r['unit'])} {r['unit']}"
        if r.get("ratio") is not None and r.get("target_kind", "").startswith("ratio"):
            value += f" ({r['ratio']:.2f}× baseline)"
        lines.append(f"| {_cell(r['name'])} | {value} | {target_text(r)} | {_cell(result_text(r))} |")
    lines += [
        "",
        f"{len(targeted) - len(missed)} of {len(targeted)} targets met"
        + (f"; missed: {', '.join(r['name'] for r in missed)} (see Notes)." if missed else "."),
        "",
    ]
    if errors:
        lines += ["**Benchmarks that failed to run:**", ""] + [f"- {e}" for e in errors] + [""]
    sections: dict[str, list[Row]] = {}
    for r in rows:
        sections.setdefault(r["section"], []).append(r)
    for section, section_rows in sections.items():
        lines += [f"## {section}", ""] + table(section_rows) + [""]
        if section.startswith("API throughput"):
            lines += ["**Why cheroot.** " + WSGI_CHOICE, ""]
    lines += ["## Method", ""] + [f"- {m}" for m in METHOD] + [""]
    notes = []
    for r in missed:
        for prefix, text in MISS_NOTES:
            if r["name"].startswith(prefix):
                notes.append(f"- **{r['name']}**: {text}")
    for r in rows:
        if r.get("skipped"):
            notes.append(f"- {r['name']}: skipped — {r['skipped']}.")
    lines += ["## Notes", ""] + (notes or ["- Every row ran and every target was met."]) + [""]
    return "\n".join(lines)
