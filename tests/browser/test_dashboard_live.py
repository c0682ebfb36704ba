"""The dashboard for a debugging session (issue #25, rows 5 and 11), in a real headless Chromium: the Faults badge
counts armed rules live (no need to open the Faults tab), the Notes column of the journal is on screen at 375 px,
and a link such as the pytest report's (``#requests/<id>``) opens that journal entry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from mockserver.runtime.server import MockServer

pytest.importorskip("selenium", reason="the browser tests need selenium: pip install selenium")

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TIMEOUT = 20
SHARED = pytest.mark.no_leak_check  # Chromium keeps keep-alive connections to the module's server, by design


@pytest.fixture(scope="module")
def shared() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def mock(shared: MockServer, chrome: Any) -> MockServer:
    chrome.get("about:blank")
    chrome.set_window_size(1280, 900)
    shared.reset()
    shared.faults.clear()
    return shared


@pytest.fixture
def wait(chrome: Any) -> Callable[[Callable[[Any], Any]], Any]:
    stale = (StaleElementReferenceException,)
    return lambda condition: WebDriverWait(chrome, TIMEOUT, ignored_exceptions=stale).until(condition)


def open_dashboard(chrome: Any, url: str) -> None:
    chrome.get(url)
    WebDriverWait(chrome, TIMEOUT).until(lambda d: d.find_element(By.ID, "live").text == "live")


def faulted_get(server: MockServer) -> requests.Response:
    server.faults.add(
        match={"operationId": "getAllSmtpSettings"}, action={"type": "status", "status": 503}, times=1, name="down"
    )
    return requests.get(server.api_url + "/SMTPSettings", headers=server.auth_headers(), timeout=TIMEOUT)


@SHARED
def test_the_faults_badge_counts_armed_rules_live(mock: MockServer, chrome: Any, wait: Any) -> None:
    open_dashboard(chrome, mock.base_url + "/_mock/ui/")
    assert chrome.find_element(By.ID, "count-faults").text == "0"
    mock.faults.preset("smtp-auth-rejected")
    mock.faults.add(match={"stage": "rcpt"}, action={"type": "reply", "code": 550, "text": "5.1.1 no"})
    # the Mail tab stays open: the badge follows without a visit to the Faults tab
    wait(lambda d: d.find_element(By.ID, "count-faults").text == "2")
    assert chrome.find_element(By.ID, "panel-faults").get_attribute("hidden") is not None
    mock.faults.clear()
    wait(lambda d: d.find_element(By.ID, "count-faults").text == "0")


@SHARED
def test_the_notes_column_is_on_screen_at_375_px(mock: MockServer, chrome: Any, wait: Any) -> None:
    assert faulted_get(mock).status_code == 503
    chrome.set_window_size(375, 812)
    open_dashboard(chrome, mock.base_url + "/_mock/ui/#requests")
    badge = wait(lambda d: d.find_element(By.CSS_SELECTOR, "#req-list tr.faulted .badge.fault"))
    assert badge.is_displayed() and "fault" in badge.text
    # inside the viewport and inside its scrolling list: readable without scrolling sideways
    inside = chrome.execute_script(
        """const b = arguments[0].getBoundingClientRect();
           const list = arguments[0].closest('.scroll') || document.documentElement;
           const l = list.getBoundingClientRect();
           return b.width > 0 && b.left >= 0 && b.right <= document.documentElement.clientWidth
                  && b.right <= l.right + 1 && list.scrollLeft === 0;""",
        badge,
    )
    assert inside, chrome.execute_script("return document.documentElement.clientWidth")


@SHARED
def test_a_link_to_a_journal_entry_opens_it(mock: MockServer, chrome: Any, wait: Any) -> None:
    response = faulted_get(mock)
    request_id = response.headers["X-Cxmock-Request-Id"]
    open_dashboard(chrome, f"{mock.base_url}/_mock/ui/#requests/{request_id}")
    assert chrome.find_element(By.ID, "tab-requests").get_attribute("aria-selected") == "true"
    wait(lambda d: "Faults fired" in d.find_element(By.ID, "req-problems").text)
    assert '"down"' in chrome.find_element(By.ID, "req-problems").text


def send(server: MockServer, subject: str, body: str) -> None:
    import smtplib
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "app@check.org", "ops@check.org", subject
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", server.sink.smtp_port, timeout=TIMEOUT) as smtp:
        smtp.send_message(msg)


def mail_rows(chrome: Any) -> list[str]:
    return [e.text for e in chrome.find_elements(By.CSS_SELECTOR, "#mail-list button.open")]


@SHARED
def test_the_mail_search_finds_words_of_the_body(mock: MockServer, chrome: Any, wait: Any) -> None:
    send(mock, "Weekly report", "All scans green; the reset token is kiwi-42.")
    send(mock, "Scan finished", "3 high, 12 medium.")
    open_dashboard(chrome, mock.base_url + "/_mock/ui/")
    wait(lambda d: len(mail_rows(d)) == 2)
    chrome.find_element(By.ID, "mail-search").send_keys("kiwi-42")  # only in a body
    wait(lambda d: len(mail_rows(d)) == 1 and "Weekly report" in mail_rows(d)[0])


@SHARED
def test_one_message_is_deleted_from_the_page(mock: MockServer, chrome: Any, wait: Any) -> None:
    send(mock, "Keep me", "one")
    send(mock, "Delete me", "two")
    open_dashboard(chrome, mock.base_url + "/_mock/ui/")
    wait(lambda d: len(mail_rows(d)) == 2)
    (doomed,) = [b for b in chrome.find_elements(By.CSS_SELECTOR, "#mail-list button.open") if "Delete me" in b.text]
    doomed.click()
    wait(lambda d: d.find_element(By.ID, "mail-subject").text == "Delete me")
    chrome.find_element(By.ID, "mail-delete").click()
    wait(lambda d: len(mail_rows(d)) == 1 and "Keep me" in mail_rows(d)[0])
    assert [m.subject for m in mock.sink.messages] == ["Keep me"]  # gone on the server too
    chrome.refresh()
    WebDriverWait(chrome, TIMEOUT).until(lambda d: d.find_element(By.ID, "live").text == "live")
    wait(lambda d: len(mail_rows(d)) == 1)


@SHARED
def test_attachments_are_listed_in_the_open_message(mock: MockServer, chrome: Any, wait: Any) -> None:
    import smtplib
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "app@check.org", "ops@check.org", "With a file"
    msg.set_content("see attached")
    msg.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename="evil.html")
    with smtplib.SMTP("127.0.0.1", mock.sink.smtp_port, timeout=TIMEOUT) as smtp:
        smtp.send_message(msg)
    open_dashboard(chrome, mock.base_url + "/_mock/ui/")
    wait(lambda d: len(mail_rows(d)) == 1)
    chrome.find_element(By.CSS_SELECTOR, "#mail-list button.open").click()
    item = wait(lambda d: d.find_element(By.CSS_SELECTOR, "#mail-attachments button.attachment"))
    assert item.text == "Download evil.html (text/html, 25 bytes)"
    item.click()  # a download of inert bytes: nothing of it runs in the page
    assert chrome.find_element(By.ID, "mail-attachments-box").is_displayed()
    with pytest.raises(Exception):  # noqa: B017, PT011 - no alert opened: the script was never run
        chrome.switch_to.alert.text  # noqa: B018
    assert [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"] == []
