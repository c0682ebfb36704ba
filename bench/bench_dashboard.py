"""The dashboard (``/_mock/ui/``): how fast the page loads over full stores, and what its live feed costs the API.

- Page load, HTTP: what the page fetches to show both lists (shell, script, style, ``ui/api/info``, the mail rows
  and the journal rows), sequentially over one keep-alive connection, with 1000 captured mails and 1000 journal
  entries held. A browser fetches in parallel, so this is the slower bound of the server's part.
- Page load, headless Chromium (when ``chromium`` + ``chromedriver`` + selenium are installed): from navigation
  start to both lists rendered and painted (the page's ``cxmock:lists-painted`` performance mark; the counters read
  1000; the newest 100 rows of the visible list are in the DOM, "show more" adds the rest; a hidden tab's list is
  built when shown), same stores.
- Live-feed cost: the server's CPU per ``GET /SMTPSettings`` (the API benchmark's load) with a poller connected
  that does what the page does at its fastest (every second: new mail rows and new journal rows since the last id;
  under load the journal grows by thousands per second, so each poll returns up to 1000 rows) against the same load
  with nobody polling, runs interleaved in the same run; the request rates are context. A last row has a real
  headless Chromium on the page instead (its rendering shares the machine's cores with the server and the load
  generator).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from mockserver import MockServer

from ._common import HOST, JSON_V1, Mode, Row, median, row, skipped
from .loadgen import load

SECTION = "Dashboard (/_mock/ui/)"
LIST_PATH = "/cxrestapi/auth/SMTPSettings"
PAGE = ["/_mock/ui/", "/_mock/ui/static/app.js", "/_mock/ui/static/app.css", "/_mock/ui/api/info"]
LISTS = ["/_mock/ui/api/mail?since=0", "/_mock/ui/api/requests?since=0"]
FILL = 1000
MAIL = (
    b"From: CxSAST <cxsast@example.com>\r\nTo: Security Team <security-team@example.org>\r\n"
    b"Subject: Scan finished: 3 high, 12 medium\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
    + b"<p>The scan of project <b>cxmock</b> finished.</p>\r\n"
    * 10
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]


def _fill(server: MockServer) -> None:
    """1000 captured mails (straight into the store: the SMTP path is another benchmark) and 1000 journal entries."""
    for i in range(FILL):
        server.state.mail.add(MAIL, mail_from=f"cxsast{i}@example.com", rcpt_tos=["team@example.org"], peer="bench")
    conn = http.client.HTTPConnection(HOST, server.http_port, timeout=30)
    headers = {**server.auth_headers(), "Accept": JSON_V1}
    try:
        for _ in range(FILL):
            conn.request("GET", LIST_PATH, headers=headers)
            conn.getresponse().read()
    finally:
        conn.close()


def _page_http_ms(port: int) -> float:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        start = time.perf_counter()
        for path in PAGE + LISTS:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
        return (time.perf_counter() - start) * 1000
    finally:
        conn.close()


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return "chromium/chromedriver are not installed (apt-get install chromium chromium-driver)"
    return None


@contextlib.contextmanager
def _chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="cxmock-bench-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for flag in [*FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
        try:
            yield driver
        finally:
            driver.quit()


def _page_browser_ms(driver: Any, url: str) -> float:
    """Navigation start to the page's ``cxmock:lists-painted`` mark (both lists rendered, the next frame done),
    read from the browser's own clock (``performance``), so the driver's polling does not count."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(url)
    mark = WebDriverWait(driver, 30, poll_frequency=0.05).until(
        lambda d: d.execute_script(
            "const m = performance.getEntriesByName('cxmock:lists-painted');"
            "return m.length ? [m[0].startTime, document.getElementById('count-mail').textContent,"
            " document.getElementById('count-requests').textContent] : null"
        )
    )
    if mark[1:] != [str(FILL), str(FILL)]:
        raise RuntimeError(f"the page showed {mark[1]} mails and {mark[2]} requests, expected {FILL} of each")
    return float(mark[0])


def page_load(mode: Mode) -> list[Row]:
    runs = 3 if mode.quick else 15
    rows: list[Row] = []
    with MockServer() as server:
        _fill(server)
        _page_http_ms(server.http_port)  # warm-up: parsed headers are cached on first read, as after any first view
        samples = [_page_http_ms(server.http_port) for _ in range(runs)]
        rows.append(
            row(
                f"page load over HTTP, {FILL} mails + {FILL} journal entries (7 requests, sequential)",
                "ms",
                samples,
                section=SECTION,
                target=300,
                target_kind="max",
                detail="shell, app.js, app.css, ui/api/info, mail rows, journal rows; one keep-alive connection",
            )
        )
        name = f"page load in headless Chromium, {FILL} mails + {FILL} journal entries, to both lists rendered"
        missing = _browser_missing()
        if missing:
            rows.append(skipped(name, "ms", missing, section=SECTION, target=300, target_kind="max"))
            return rows
        with _chromium() as driver:
            url = server.base_url + "/_mock/ui/"
            _page_browser_ms(driver, url)  # warm-up: the browser's caches are off (no-store), its process is not
            browser = [_page_browser_ms(driver, url) for _ in range(max(3, runs // 3))]
        rows.append(row(name, "ms", browser, section=SECTION, target=300, target_kind="max"))
    return rows


class _Poller:
    """What the page does at its fastest: every second, the new mail rows and the new journal rows."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.polls = 0
        self.rows = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-dashboard-poller", daemon=True)

    def __enter__(self) -> _Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        last = {"mail": 0, "requests": 0}
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            while not self._stop.is_set():
                for name in last:
                    conn.request("GET", f"/_mock/ui/api/{name}?since={last[name]}")
                    got = json.loads(conn.getresponse().read())["rows"]
                    if got:
                        last[name] = got[-1]["id"]
                    self.rows += len(got)
                self.polls += 1
                self._stop.wait(1.0)
        finally:
            conn.close()


def _poll_cpu_ms(port: int, polls: int = 20) -> float:
    """CPU time of this process per full poll (1000 journal rows + the mail rows): noise-free twin of the ratio."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        start = time.process_time()
        for _ in range(polls):
            for path in LISTS:
                conn.request("GET", path)
                json.loads(conn.getresponse().read())
        return (time.process_time() - start) / polls * 1000
    finally:
        conn.close()


def feed_cost(mode: Mode) -> list[Row]:
    """API load alone, with the poller, with the page open in Chromium: runs interleaved, the order alternating.

    The target is on the feed's share of the server's CPU under that load (one full poll's CPU time, once a second,
    over the CPU the load uses per second): it hardly depends on what else the machine runs. The server's CPU per
    request and the request rates with and without the feed are context: on a shared machine they swing by more
    from run to run than the feed costs."""
    rows: list[Row] = []
    with MockServer() as server:
        headers = {**server.auth_headers(), "Accept": JSON_V1}

        def measure() -> tuple[float, float]:
            cpu = time.process_time()
            result = load(
                server.http_port,
                LIST_PATH,
                duration=mode.duration,
                connections=mode.connections,
                headers=headers,
                tool=mode.loadgen,
            )
            return result.rps, (time.process_time() - cpu) / max(result.requests, 1) * 1e6

        if not mode.quick:
            measure()  # warm-up
        results: dict[str, list[tuple[float, float]]] = {"alone": [], "polled": [], "watched": []}
        polls = fetched = 0
        missing = _browser_missing()
        with contextlib.ExitStack() as stack:
            driver = None if missing else stack.enter_context(_chromium())

            def alone() -> None:
                results["alone"].append(measure())

            def polled() -> None:
                nonlocal polls, fetched
                with _Poller(server.http_port) as poller:
                    results["polled"].append(measure())
                polls, fetched = polls + poller.polls, fetched + poller.rows

            def watched() -> None:
                assert driver is not None
                driver.get(server.base_url + "/_mock/ui/")
                try:
                    results["watched"].append(measure())
                finally:
                    driver.get("about:blank")

            steps = [alone, polled] + ([watched] if driver is not None else [])
            for i in range(mode.runs):
                for step in steps if i % 2 == 0 else steps[::-1]:
                    step()
        cpu_ms = _poll_cpu_ms(server.http_port)
        base_rps = [r for r, _ in results["alone"]]
        base_cpu = [c for _, c in results["alone"]]
        # the feed's share of the server's CPU under this load: one poll's CPU, once a second, over the CPU the
        # API load uses per second (measured alone in the same run); per run, so the row has the runs' spread
        shares = [cpu_ms / (c * r / 1000) * 100 for r, c in results["alone"] if r and c]
        rows.append(
            row(
                "the live feed's share of the server's CPU under API load (1 poll/s of 1000 journal rows)",
                "%",
                shares,
                section=SECTION,
                target=5.0,
                target_kind="max",
                detail=(
                    f"one poll {cpu_ms:.1f} ms of CPU (server and client, in-process: an upper bound) over the CPU "
                    f"of {median(base_rps):.0f} req/s at {median(base_cpu):.0f} µs each; steadier than the rows below"
                ),
            )
        )
        rows.append(
            row(
                "server CPU per GET /SMTPSettings while a poller follows the live feed (like the page, 1 poll/s)",
                "µs/request",
                [c for _, c in results["polled"]],
                section=SECTION,
                baseline=base_cpu,
                baseline_name="the same load, nobody polling (interleaved runs)",
                detail=(
                    f"context: {polls} polls fetched {fetched} rows; on a shared machine this ratio swings by about "
                    "±10% between runs, more than the feed costs"
                ),
            )
        )
        rows.append(
            row(
                "GET /SMTPSettings throughput while a poller follows the live feed",
                "req/s",
                [r for r, _ in results["polled"]],
                section=SECTION,
                baseline=base_rps,
                baseline_name="the same load, nobody polling (interleaved runs)",
                detail="context: on a shared machine the rate swings by tens of percent between runs; see the CPU row",
            )
        )
        name = "GET /SMTPSettings throughput with the dashboard open in headless Chromium"
        if driver is None or not results["watched"]:
            rows.append(skipped(name, "req/s", missing or "no run", section=SECTION))
        else:
            watched_cpu = median([c for _, c in results["watched"]]) / median(base_cpu)
            rows.append(
                row(
                    name,
                    "req/s",
                    [r for r, _ in results["watched"]],
                    section=SECTION,
                    baseline=base_rps,
                    baseline_name="the same load, no browser (interleaved runs)",
                    detail=(
                        f"server CPU per request {watched_cpu:.2f}× the baseline's; Chromium renders on the same "
                        "cores as the server and the load generator"
                    ),
                )
            )
    return rows


def run(mode: Mode) -> list[Row]:
    return page_load(mode) + feed_cost(mode)
