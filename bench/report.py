"""Writes ``docs/benchmarks.md`` from the rows of a run. The notes are part of the harness, not of the output file:
the report is regenerated, never edited."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ._common import Row

FORMATS = {"req/s": "{:,.0f}", "msg/s": "{:,.0f}", "ms": "{:.2f}", "s": "{:.3f}", "MB": "{:.1f}", "µs": "{:,.0f}"}

#: why cxmock runs on its own front end (issues #6, #14); printed in every report next to the measured servers
WSGI_CHOICE = (
    "cxmock serves on its own **event-driven front end** (`mockserver/runtime/http_server/`), in-process, for "
    "both the pytest fixtures and `cxmock serve`: one asyncio event loop in its own thread holds every connection "
    "(idle, slow or half-received) for the cost of its buffers, parses with **httptools** (llhttp, Node's strict "
    "RFC 9112 parser, in C), and hands only complete requests to a fixed pool of worker threads running the Flask "
    "app; both are public, documented APIs. It replaced cheroot (issue #14): a thread per connection meant 16 "
    "trickling clients starved the server and held SIGTERM, and cheroot's parsing and per-request thread handoff "
    "cost about as much CPU as the whole app. The choice was measured (section *HTTP front end alone*): the same "
    "bare route on cxmock's front end, bare cheroot and bare waitress, each in its own process, rates and server "
    "CPU per request at 4 and 16 connections; the parse of one request head with httptools against h11 (pure "
    "Python: the ratio is in that row). hypercorn and uvicorn + a2wsgi were not measured: both run ASGI, so a WSGI app "
    "goes through a thread-pool bridge per request on top of the same event loop, and neither exposes the "
    "connection for the socket-level faults (drop with a FIN, reset with a RST, hang). waitress's sockets belong "
    "to its channel thread, with no handle on the connection from the app. granian is the fastest here, but runs "
    "as its own process whose Rust I/O never hands the socket to Python (no in-process fixture, no socket faults). "
    "Every request, the GET of the settings included, runs the app on a worker thread: the event-loop fast path "
    "of #14's second round was removed in #21 (it restated the app's checks, body, journal and log code, and "
    "worked on an unauthenticated Host header on the loop); `--no-http-fast-reads` is accepted and does nothing."
)


def _find(rows: Sequence[Row], prefix: str) -> Row | None:
    return next((r for r in rows if r["name"].startswith(prefix) and not r.get("skipped")), None)


def _breakdown_text(rows: Sequence[Row]) -> str:
    full = _find(rows, "app time per GET, full")
    if full is None:
        return ""
    parts = []
    for variant, what in (
        ("no journal", "the request journal"),
        ("no auth/negotiation", "token check, permission and Accept negotiation"),
        ("no fault hooks", "the fault hooks"),
    ):
        r = _find(rows, f"app time per GET, {variant}")
        if r is not None:
            parts.append(f"{what} {full['median'] - r['median']:.0f} µs")
    bare = full.get("baseline_median") or 0.0
    rest = _find(rows, "app time per GET, none of them")
    tail = (
        f"; with none of them the app takes {rest['median']:.0f} µs (Flask, flask-smorest's response wrappers, the "
        f"view) against the bare route's {bare:.0f} µs"
        if rest
        else ""
    )
    return f"In this run the app took {full['median']:.0f} µs per GET, of which " + ", ".join(parts) + tail + "."


def _note_api(r: Row, rows: Sequence[Row]) -> str:
    prism = _find(rows, "GET /SMTPSettings with token: cxmock vs Prism")
    ahead = f", {prism['ratio']:.2f}× Prism 5's rate on the same GET" if prism and prism.get("ratio") else ""
    return (
        "the bare route does nothing per request; cxmock authenticates the bearer token, checks the permission, "
        "negotiates `Accept` (v=1.0), notes contract-lint findings, offers the request to the fault engine and "
        "journals it with its secrets redacted (the journal is what `assert_called`, `/_mock/requests` and the "
        "pytest failure report read). "
        + _breakdown_text(rows)
        + " These are the product, so the gap is explained rather than removed; what was waste is gone (Flask "
        "context-proxy lookups in the hooks: ~17 % of the app's time per request, found with cProfile, fixed in "
        "this change). "
        + _predicted(r, rows)
        + f"In absolute terms one in-process cxmock served {r['median']:,.0f} req/s "
        f"({r.get('detail', '').split(';')[0]}){ahead}: far above what a test suite sends."
    )


def _predicted(r: Row, rows: Sequence[Row]) -> str:
    """What the app-time difference alone predicts for the HTTP-level ratio (the server's share is common)."""
    full = _find(rows, "app time per GET, full")
    if full is None or not r.get("baseline_median") or not full.get("baseline_median"):
        return ""
    bare_us = 1e6 / r["baseline_median"]
    extra = full["median"] - full["baseline_median"]
    return (
        f"Over HTTP the bare route took {bare_us:.0f} µs per request ({full['baseline_median']:.0f} µs of it in "
        f"the app); cxmock's app adds {extra:.0f} µs, which alone predicts {bare_us / (bare_us + extra):.2f}× "
        f"(measured {r['ratio']:.2f}×). "
    )


def _note_token(r: Row, rows: Sequence[Row]) -> str:
    return (
        "(the issues set no target for this row; the API's 0.7× is applied by analogy) "
        "the bare route reads the form and returns a random token; cxmock also validates the client and the user "
        "(constant-time comparisons), checks the scope, keeps the token (bounded store), and runs the same "
        "per-request hooks as every API call: the fault engine and the journal, which records the form with the "
        "password and client secret redacted. "
        + _breakdown_text(rows)
        + f" The rates were {r['median']:,.0f} against {r.get('baseline_median') or 0:,.0f} req/s; the CPU time "
        "per request (notes column) is the comparison that depends least on other load on this shared machine."
    )


def _note_cold(r: Row, rows: Sequence[Row]) -> str:
    return (
        "wall time from spawn; on this shared machine it moves with the load average (see Machine). The CPU time "
        "to ready in the notes column is the load-independent figure. Most of it is imports (Flask, flask-smorest "
        "with marshmallow and webargs, jsonschema, cryptography via trustme, aiosmtpd), which a fresh process "
        "cannot avoid; the 20 KB OpenAPI document is parsed with libyaml now (the pure-Python parser took ~75 ms)."
    )


def _note_list(r: Row, rows: Sequence[Row]) -> str:
    floor = r.get("baseline_median") or 0.0
    return (
        f"the bare route serialising the same 10,000 records took {floor:.1f} ms in this run, "
        f"{floor / 50 * 100:.0f} % of the target on its own: JSON encoding and sending ~1.5 MB, and it moves with "
        "the load on the machine (see Machine; on a quiet machine both are about half of this). What cxmock adds "
        "is building the 10,000 response dicts and the garbage collections that allocation triggers over a "
        "process holding every record; a marshmallow dump per record used to take ~85 % of the time and was "
        "removed. Caching each immutable record's JSON would take the list to a join, if it ever matters."
    )


def _note_sink(r: Row, rows: Sequence[Row]) -> str:
    return (
        "a rate measured on a shared machine (client, sink and baseline in one process); the CPU time per message "
        "in the notes column hardly depends on other load and is the figure to compare (bench/bench_smtp.py). "
        "The sink does more than the bare handler per message: it parses the headers, stores the message "
        "(bounded) and records peer, TLS and AUTH facts, and asks the fault engine at every stage."
    )


def _note_prism(r: Row, rows: Sequence[Row]) -> str:
    granian = _find(rows, "bare Flask JSON route on granian")
    faster = f" (granian ran a bare route at {granian['ratio']:.1f}× our front end's rate here)" if granian else ""
    return (
        "Prism 5 answers the document's example from one Node process: it checks only that an Authorization "
        "header is present, keeps no state and journals nothing, while cxmock authenticates, stores, journals and "
        "offers every request to the fault engine (see the breakdown). Each saturates about one core (Node's "
        "event loop; CPython's GIL), so on an otherwise idle 2-core machine they come out near parity, while "
        "cxmock has been ahead in runs on a busy machine. A faster server" + faster + " would give up the "
        "in-process fixture and the socket-level faults (see Why this server)."
    )


#: explanations printed when a row misses its target: (name prefix, text from the row and the run's rows)
MISS_NOTES: list[tuple[str, Callable[[Row, Sequence[Row]], str]]] = [
    ("GET /SMTPSettings with token: cxmock on its front end", _note_api),
    ("GET /SMTPSettings with token: cxmock vs Prism", _note_prism),
    ("POST /identity/connect/token", _note_token),
    ("cold start", _note_cold),
    ("GET /SMTPSettings with 10,000 records", _note_list),
    ("sink ingestion", _note_sink),
]

METHOD = [
    "Each row is the median over its runs (a run's value is a rate over the whole run, or the median latency of "
    "that run's requests); min and max are over the same runs. The baseline is measured in the same run, "
    "interleaved with the measured thing, so the ratio is robust to machine drift even when the absolute "
    "numbers are not.",
    "Throughput: a separate load-generator process (`wrk -t1 -c4 --latency`, or the Python keep-alive client "
    "`bench/loadgen.py` when wrk is absent) keeps 4 connections busy for the run's duration; p50/p99 are the "
    "load generator's latencies (medians over runs). cxmock and its bare baseline (same front end) run in the "
    "harness process as they do in a test suite; every request of cxmock's runs carries a bearer token and is "
    "authenticated, negotiated, offered to the fault engine and journaled.",
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
            lines += ["**Why this server.** " + WSGI_CHOICE, ""]
    lines += ["## Method", ""] + [f"- {m}" for m in METHOD] + [""]
    notes = []
    for r in missed:
        for prefix, explain in MISS_NOTES:
            if r["name"].startswith(prefix):
                notes.append(f"- **{r['name']}** (target {target_text(r)}): {explain(r, rows)}")
    for r in rows:
        if r.get("skipped"):
            notes.append(f"- {r['name']}: skipped — {r['skipped']}.")
    lines += ["## Notes", ""] + (notes or ["- Every row ran and every target was met."]) + [""]
    return "\n".join(lines)
