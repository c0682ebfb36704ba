"""The attack of #23 in a real headless Chromium: a page of another origin tries to drive and read the admin API
(a no-cors ``text/plain`` POST of a fault rule, a plain form POST to ``/_mock/reset``, a JSON fetch that needs a
preflight, framing the dashboard) and a page on a DNS-rebound name tries to read ``/_mock/messages``. Everything is
refused; the dashboard on the server's own origin keeps working. The names ``attacker.test`` and ``rebound.test``
resolve to 127.0.0.1 inside this browser only (``--host-resolver-rules``): no traffic leaves the machine."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockserver.runtime.server import MockServer

pytest.importorskip("selenium", reason="the browser tests need selenium: pip install selenium")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TIMEOUT = 15
RULE = '{"match": {"method": "GET"}, "action": {"type": "status", "status": 200, "body": "<b>x</b>"}}'


class _Attacker(http.server.BaseHTTPRequestHandler):
    """The attacker's site: ``/?target=<mock base URL>`` is a page that tries everything at once."""

    page = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    server.daemon_threads = False  # server_close() joins the request threads: none outlives the test
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://attacker.test:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def _attack_page(target: str) -> bytes:
    return f"""<!doctype html><html><body>
<form id="f" method="POST" action="{target}/_mock/reset" target="sink"><input name="x" value="1"></form>
<iframe name="sink"></iframe>
<iframe id="framed" src="{target}/_mock/ui/"></iframe>
<pre id="out"></pre>
<script>
const out = [];
async function run() {{
  try {{
    await fetch("{target}/_mock/faults", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
                                          body: {RULE!r}}});
    out.push("no-cors sent");
  }} catch (e) {{ out.push("no-cors failed"); }}
  try {{
    const r = await fetch("{target}/_mock/faults", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                                                   body: {RULE!r}}});
    out.push("json answered " + r.status);
  }} catch (e) {{ out.push("json blocked"); }}
  try {{
    const r = await fetch("{target}/_mock/messages");
    out.push("read " + (await r.text()).length);
  }} catch (e) {{ out.push("read blocked"); }}
  document.getElementById("f").submit();
  out.push("form submitted");
  document.getElementById("out").textContent = out.join("\\n");
}}
run();
</script></body></html>""".encode()


def test_a_page_of_another_origin_can_neither_drive_nor_read_the_admin_api(chrome_hosts: Any, attacker: str) -> None:
    with MockServer() as server:
        server.faults.add(match={"path": "/nowhere"}, action={"type": "status", "status": 418})  # reset would drop it
        _Attacker.page = _attack_page(server.base_url)
        chrome_hosts.get(attacker + "/")
        WebDriverWait(chrome_hosts, TIMEOUT).until(lambda d: "form submitted" in d.find_element(By.ID, "out").text)
        report = chrome_hosts.find_element(By.ID, "out").text.splitlines()
        assert report[:3] == ["no-cors sent", "json blocked", "read blocked"], report
        # the browser blocked both frames: the dashboard's, and the one the form's (refused) answer would show in
        logs: list[str] = []
        try:
            WebDriverWait(chrome_hosts, TIMEOUT).until(lambda d: _framings_blocked(d, logs) >= 2)
        except Exception:
            raise AssertionError(f"expected two framings blocked by frame-ancestors 'none': {logs}") from None
        assert _rule_statuses(server) == [418]  # no rule added, no reset
        assert any("_mock/faults" in line and "403" in line for line in logs)  # the no-cors POST was answered 403


def _rule_statuses(server: MockServer) -> list[int]:
    listing = requests.get(server.base_url + "/_mock/faults", timeout=TIMEOUT).json()
    return [rule["action"]["status"] for rule in listing["rules"]]


def _framings_blocked(driver: Any, logs: list[str]) -> int:
    logs.extend(entry["message"] for entry in driver.get_log("browser"))
    return sum("frame-ancestors 'none'" in line for line in logs)


def test_a_dns_rebound_name_cannot_read_the_admin_api_or_open_the_dashboard(chrome_hosts: Any) -> None:
    with MockServer() as server:
        rebound = f"http://rebound.test:{server.http_port}"
        chrome_hosts.get(rebound + "/_mock/ui/")
        assert "DNS rebinding" in chrome_hosts.find_element(By.TAG_NAME, "body").text
        status = chrome_hosts.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/_mock/messages').then(r => done(r.status), e => done(String(e)));"
        )
        assert status == 403
        # the same browser on the server's own name: the dashboard works
        chrome_hosts.get(f"http://localhost:{server.http_port}/_mock/ui/")
        WebDriverWait(chrome_hosts, TIMEOUT).until(lambda d: d.find_element(By.ID, "live").text == "live")
