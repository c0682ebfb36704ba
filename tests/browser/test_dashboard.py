"""The dashboard (``/_mock/ui/``) in a real headless Chromium: live mail and journal, the HTML part rendered inert,
a fault enabled from the page, hostile mail executing nothing, the admin-token form, and the README screenshots.

Screenshots go to ``$CXMOCK_SCREENSHOT_DIR`` when set (``CXMOCK_SCREENSHOT_DIR=docs/img pytest tests/browser``
regenerates the README's), else to the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import smtplib
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.core import contract
from mockserver.runtime.server import MockServer

pytest.importorskip("selenium", reason="the browser tests need selenium: pip install selenium")

from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

TIMEOUT = 20
#: the tests on the module's server: Chromium keeps its keep-alive connections to it open from one test to the next
#: (the server's side of them are sockets of this process), by design, like the server itself
SHARED = pytest.mark.no_leak_check
PASSWORD = "Ui-Smtp-Pass-51f3"
HOSTILE = "<script>alert('subject')</script><img src=x onerror=alert('subject')>"


def receiver_field() -> str:
    """testconnection's recipient field, as the OpenAPI document names it (the wire name is owned by the API)."""
    schema = contract.load_document()["components"]["schemas"]["TestConnectionModel"]
    return str(next(name for name in schema["required"] if name.lower().startswith("rec")))


def post_testconnection(server: MockServer, to: str = "ops@check.org") -> requests.Response:
    payload = {
        "host": "smtp.corp.example",
        "port": 587,
        "encryptionType": "Tls",
        "fromAddress": "noreply@check.org",
        receiver_field(): to,
        "useDefaultCredentials": False,
        "username": "mailer",
        "password": PASSWORD,
    }
    return requests.post(
        server.api_url + "/SMTPSettings/testconnection",
        data=json.dumps(payload),
        headers={**server.auth_headers(), "Content-Type": "application/json;v=1.0"},
        timeout=TIMEOUT,
    )


def send_mail(server: MockServer, subject: str, html: str, text: str = "plain part") -> None:
    msg = EmailMessage()
    msg["From"] = "CxSAST <cxsast@example.com>"
    msg["To"] = "Security Team <security-team@example.org>"
    msg["Subject"] = subject
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=TIMEOUT) as smtp:
        smtp.send_message(msg)


@pytest.fixture(scope="module")
def shared() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture(autouse=True)
def blank_page(chrome: Any) -> None:
    """Each test starts on a blank page with an empty browser log: a page left open by an earlier test may log
    its failed polls once that test's server stopped."""
    chrome.get("about:blank")
    chrome.get_log("browser")


@pytest.fixture
def mock(shared: MockServer, blank_page: None) -> MockServer:
    shared.reset()
    shared.faults.clear()
    return shared


@pytest.fixture
def wait(chrome: Any) -> Callable[[Callable[[Any], Any]], Any]:
    # the page re-renders a list on every poll: an element found a moment ago may be replaced before it is read
    stale = (StaleElementReferenceException,)
    return lambda condition: WebDriverWait(chrome, TIMEOUT, ignored_exceptions=stale).until(condition)


def open_dashboard(chrome: Any, base_url: str) -> None:
    chrome.get(base_url + "/_mock/ui/")
    WebDriverWait(chrome, TIMEOUT).until(lambda d: d.find_element(By.ID, "live").text == "live")


def mail_rows(chrome: Any) -> list[str]:
    return [e.text for e in chrome.find_elements(By.CSS_SELECTOR, "#mail-list button.open")]


def severe_logs(chrome: Any) -> list[dict[str, Any]]:
    return [entry for entry in chrome.get_log("browser") if entry["level"] == "SEVERE"]


@SHARED
def test_mail_appears_live_and_opens_with_its_html_and_transcript(mock: MockServer, chrome: Any, wait: Any) -> None:
    open_dashboard(chrome, mock.base_url)
    assert mail_rows(chrome) == []
    assert post_testconnection(mock).status_code == 200
    send_mail(mock, "Scan finished: 3 high", "<h1>Scan finished</h1><p>3 <b>high</b> findings</p>")
    # both appear without a reload, newest first
    wait(lambda d: len(mail_rows(d)) == 2)
    rows = mail_rows(chrome)
    assert rows[0].startswith("Scan finished: 3 high") and "testconnection" in rows[1]
    assert chrome.find_element(By.ID, "count-mail").text == "2"

    # the direct mail: its HTML part rendered in the sandboxed frame, its text part, its headers
    chrome.find_elements(By.CSS_SELECTOR, "#mail-list button.open")[0].click()
    wait(lambda d: d.find_element(By.ID, "mail-subject").text == "Scan finished: 3 high")
    wait(lambda d: "Subject: Scan finished" in d.find_element(By.ID, "mail-headers").text)
    assert chrome.find_element(By.ID, "mail-text").text == "plain part"
    frame = chrome.find_element(By.ID, "mail-html")
    assert frame.get_attribute("sandbox") == ""
    chrome.switch_to.frame(frame)
    try:
        assert chrome.find_element(By.TAG_NAME, "h1").text == "Scan finished"
        assert chrome.find_element(By.TAG_NAME, "b").text == "high"
    finally:
        chrome.switch_to.default_content()
    assert chrome.find_element(By.ID, "mail-tc").get_attribute("hidden") is not None

    # the testconnection mail: the request that caused it and the SMTP transcript, the password redacted
    chrome.find_elements(By.CSS_SELECTOR, "#mail-list button.open")[1].click()
    wait(lambda d: d.find_element(By.ID, "mail-tc").is_displayed())
    transcript = chrome.find_element(By.ID, "mail-transcript").text
    assert "EHLO" in transcript.upper() and "MAIL FROM" in transcript.upper()
    assert PASSWORD not in chrome.page_source
    link = chrome.find_element(By.CSS_SELECTOR, "#mail-tc-request button")
    assert link.text.startswith("open request #")
    link.click()
    wait(lambda d: "/SMTPSettings/testconnection" in d.find_element(By.ID, "req-title").text)
    assert PASSWORD not in chrome.find_element(By.ID, "req-request").text
    assert severe_logs(chrome) == []


@SHARED
def test_a_preset_enabled_from_the_page_fails_the_next_request_in_the_journal(
    mock: MockServer, chrome: Any, wait: Any
) -> None:
    open_dashboard(chrome, mock.base_url)
    chrome.find_element(By.ID, "tab-faults").click()
    wait(lambda d: len(Select(d.find_element(By.ID, "preset")).options) > 0)
    Select(chrome.find_element(By.ID, "preset")).select_by_visible_text("flaky-5xx")
    chrome.find_element(By.CSS_SELECTOR, "#preset-form button[type=submit]").click()
    wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#faults-list tr")) == 1)
    assert "flaky-5xx" in chrome.find_element(By.ID, "faults-list").text

    answer = requests.get(mock.api_url + "/SMTPSettings", headers=mock.auth_headers(), timeout=TIMEOUT)
    assert answer.status_code == 503
    chrome.find_element(By.ID, "tab-requests").click()
    row = wait(ec.presence_of_element_located((By.CSS_SELECTOR, "#req-list tr.faulted")))
    assert "503" in row.text and "fault: status" in row.text
    row.find_element(By.CSS_SELECTOR, "button.open").click()
    wait(lambda d: "Faults fired" in d.find_element(By.ID, "req-problems").text)
    assert "flaky-5xx" in chrome.find_element(By.ID, "req-problems").text

    # the hit count shows on the Faults tab; the rule is removed from there
    chrome.find_element(By.ID, "tab-faults").click()
    wait(lambda d: d.find_element(By.CSS_SELECTOR, "#faults-list tr td:nth-child(5)").text == "1")
    chrome.find_element(By.CSS_SELECTOR, "#faults-list button").click()
    wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#faults-list tr") == [])
    assert mock.faults.list() == []
    assert severe_logs(chrome) == []


@SHARED
def test_hostile_mail_executes_nothing(mock: MockServer, chrome: Any, wait: Any) -> None:
    open_dashboard(chrome, mock.base_url)
    send_mail(
        mock,
        HOSTILE,
        "<p id=hello>hello</p><script>alert('html')</script><img src=x onerror=alert('img')>"
        "<img src='http://127.0.0.1:9/tracker.png'><a href='javascript:alert(1)'>link</a>"
        "<svg onload=alert('svg')></svg><iframe src='javascript:alert(2)'></iframe>",
        text=HOSTILE,
    )
    wait(lambda d: len(mail_rows(d)) == 1)
    assert mail_rows(chrome)[0].startswith(HOSTILE)  # shown as text, not markup
    chrome.find_element(By.CSS_SELECTOR, "#mail-list button.open").click()
    wait(lambda d: d.find_element(By.ID, "mail-subject").text == HOSTILE)
    wait(lambda d: "Subject:" in d.find_element(By.ID, "mail-headers").text)
    assert chrome.find_element(By.ID, "mail-text").text == HOSTILE
    chrome.switch_to.frame(chrome.find_element(By.ID, "mail-html"))
    try:
        assert chrome.find_element(By.ID, "hello").text == "hello"
        assert chrome.find_elements(By.TAG_NAME, "script") == []
        assert chrome.find_elements(By.TAG_NAME, "iframe") == []
        assert all(img.get_attribute("src") in (None, "") for img in chrome.find_elements(By.TAG_NAME, "img"))
        assert chrome.find_element(By.TAG_NAME, "img").get_attribute("onerror") is None
    finally:
        chrome.switch_to.default_content()
    assert chrome.find_element(By.ID, "mail-html-note").text.endswith("remote reference(s) blocked.")
    with pytest.raises(NoAlertPresentException):
        chrome.switch_to.alert.text  # noqa: B018
    assert severe_logs(chrome) == []
    mock.reset()  # from elsewhere: the page drops what the server no longer holds
    wait(lambda d: mail_rows(d) == [] and d.find_element(By.ID, "count-mail").text == "0")


def test_with_an_admin_token_the_page_demands_it(make_server: Callable[..., MockServer], chrome: Any) -> None:
    server = make_server(admin_token="ui-lock-7d1e")
    send_mail(server, "behind the lock", "<p>locked</p>")
    chrome.get(server.base_url + "/_mock/ui/")
    wait = WebDriverWait(chrome, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: d.find_element(By.ID, "lock").is_displayed())
    assert not chrome.find_element(By.ID, "app").is_displayed()
    assert "behind the lock" not in chrome.page_source
    chrome.find_element(By.ID, "token").send_keys("wrong")
    chrome.find_element(By.CSS_SELECTOR, "#lock button").click()
    wait.until(lambda d: "refused" in d.find_element(By.ID, "lock-error").text)
    chrome.find_element(By.ID, "token").send_keys("ui-lock-7d1e")
    chrome.find_element(By.CSS_SELECTOR, "#lock button").click()
    wait.until(lambda d: d.find_element(By.ID, "app").is_displayed())
    wait.until(lambda d: mail_rows(d) and mail_rows(d)[0].startswith("behind the lock"))
    chrome.execute_script("window.sessionStorage.clear()")


def _screenshot(chrome: Any, path: Path, width: int, height: int) -> None:
    chrome.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        chrome.execute_script("window.scrollTo(0, 0)")
        assert chrome.get_screenshot_as_file(str(path))
    finally:
        chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@SHARED
def test_screenshots_at_1280_and_375(mock: MockServer, chrome: Any, wait: Any, tmp_path: Path) -> None:
    out = Path(os.environ.get("CXMOCK_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    assert post_testconnection(mock, "security-team@example.org").status_code == 200
    send_mail(
        mock,
        "Scan finished: 3 high, 12 medium",
        "<h2 style='color:#0b57d0'>Scan finished</h2><p>Project <b>cxmock</b>: 3 high, 12 medium.</p>",
        text="Project cxmock: 3 high, 12 medium.",
    )
    headers = mock.auth_headers()
    requests.get(mock.api_url + "/SMTPSettings", headers=headers, timeout=TIMEOUT)
    mock.faults.add(match={"operationId": "getAllSmtpSettings"}, action={"type": "status", "status": 503}, times=1)
    requests.get(mock.api_url + "/SMTPSettings", headers=headers, timeout=TIMEOUT)
    requests.get(mock.api_url + "/SMTPSettings/999", headers=headers, timeout=TIMEOUT)
    open_dashboard(chrome, mock.base_url)
    wait(lambda d: len(mail_rows(d)) == 2)
    chrome.find_elements(By.CSS_SELECTOR, "#mail-list button.open")[0].click()
    wait(lambda d: "Subject:" in d.find_element(By.ID, "mail-headers").text)
    _screenshot(chrome, out / "dashboard-1280.png", 1280, 900)
    _screenshot(chrome, out / "dashboard-375.png", 375, 812)
    chrome.find_element(By.ID, "tab-requests").click()
    wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#req-list tr.faulted"))
    chrome.find_element(By.CSS_SELECTOR, "#req-list tr.faulted button.open").click()
    wait(lambda d: "Faults fired" in d.find_element(By.ID, "req-problems").text)
    _screenshot(chrome, out / "dashboard-requests-1280.png", 1280, 900)
    for name in ("dashboard-1280.png", "dashboard-375.png", "dashboard-requests-1280.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert severe_logs(chrome) == []


def test_settings_seed_upload_reset_and_the_server_tab(
    make_server: Callable[..., MockServer], chrome: Any, wait: Any, tmp_path: Path
) -> None:
    mock = make_server()  # its own server: the seed it uploads must not outlive the test
    open_dashboard(chrome, mock.base_url)
    chrome.find_element(By.ID, "tab-settings").click()
    wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#settings-list tr")) == 1)
    seeded = chrome.find_element(By.ID, "settings-list").text
    assert "pod55017.outlook.com" in seeded
    seed = tmp_path / "seed.json"
    record = {
        "host": "smtp.ui.example",
        "port": 25,
        "encryptionType": "None",
        "fromAddress": "ui@example.org",
        "useDefaultCredentials": False,
        "username": "ui-user",
        "password": PASSWORD,
    }
    seed.write_text(json.dumps([record]), encoding="utf-8")
    chrome.find_element(By.ID, "seed-file").send_keys(str(seed))
    chrome.find_element(By.CSS_SELECTOR, "#seed-form button[type=submit]").click()
    wait(lambda d: "smtp.ui.example" in d.find_element(By.ID, "settings-list").text)
    assert "Loaded 1 setting(s)" in chrome.find_element(By.ID, "notice").text
    assert PASSWORD not in chrome.page_source
    requests.post(
        mock.api_url + "/SMTPSettings",
        data=json.dumps({**record, "host": "smtp.added.example"}),
        headers={**mock.auth_headers(), "Content-Type": "application/json;v=1.0"},
        timeout=TIMEOUT,
    ).raise_for_status()
    chrome.find_element(By.ID, "reset").click()  # back to the uploaded seed
    wait(lambda d: "Reset" in d.find_element(By.ID, "notice").text or "reset" in d.find_element(By.ID, "notice").text)
    wait(lambda d: "smtp.added.example" not in d.find_element(By.ID, "settings-list").text)
    assert "smtp.ui.example" in chrome.find_element(By.ID, "settings-list").text

    chrome.find_element(By.ID, "tab-server").click()
    wait(lambda d: "Version" in d.find_element(By.ID, "server-meta").text)
    meta = chrome.find_element(By.ID, "server-meta").text
    assert f"http {mock.http_port}" in meta and f"smtp {mock.sink.smtp_port}" in meta
    # keyboard: the tabs answer the arrow keys
    chrome.find_element(By.ID, "tab-server").send_keys(Keys.ARROW_LEFT)
    wait(lambda d: d.find_element(By.ID, "tab-faults").get_attribute("aria-selected") == "true")
    assert chrome.switch_to.active_element.get_attribute("id") == "tab-faults"
    assert severe_logs(chrome) == []


def test_each_sandbox_has_its_own_dashboard(make_server: Callable[..., MockServer], chrome: Any, wait: Any) -> None:
    server = make_server()
    team = server.sandbox("team-a")
    answer = requests.get(team.api_url + "/SMTPSettings", headers=team.auth_headers(), timeout=TIMEOUT)
    assert answer.status_code == 200
    open_dashboard(chrome, team.base_url)
    assert chrome.find_element(By.ID, "where").text == "sandbox team-a"
    wait(lambda d: d.find_element(By.ID, "count-requests").text != "0")
    chrome.find_element(By.ID, "tab-requests").click()
    wait(lambda d: "/cxrestapi/auth/SMTPSettings" in d.find_element(By.ID, "req-list").text)
    # the root's dashboard lists the sandbox, not its requests, and links to its page
    open_dashboard(chrome, server.base_url)
    assert "SMTPSettings" not in chrome.find_element(By.ID, "req-list").get_attribute("textContent")
    chrome.find_element(By.ID, "tab-server").click()
    link = wait(ec.element_to_be_clickable((By.CSS_SELECTOR, "#sandbox-list a")))
    assert link.text == "team-a"
    link.click()
    wait(lambda d: d.current_url == team.base_url + "/_mock/ui/")
    wait(lambda d: d.find_element(By.ID, "where").text == "sandbox team-a")
    assert severe_logs(chrome) == []
