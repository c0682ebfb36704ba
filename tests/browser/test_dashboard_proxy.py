"""The dashboard of ``cxmock proxy`` in a real headless Chromium: a Drift tab (absent on a plain mock) lists where
the service's answers break the document, live, and the journal shows the proxied requests."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from mockserver.config import Config
from mockserver.proxy import ProxyServer, UpstreamOptions
from mockserver.runtime.server import MockServer

pytest.importorskip("selenium", reason="the browser tests need selenium: pip install selenium")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TIMEOUT = 20


@pytest.mark.no_leak_check  # Chromium keeps keep-alive connections to the proxy open after the test, by design
def test_the_proxy_dashboard_lists_drift_live(chrome: Any) -> None:
    def wait(condition: Any) -> Any:
        return WebDriverWait(chrome, TIMEOUT).until(condition)

    with MockServer() as upstream, ProxyServer(UpstreamOptions(upstream.base_url), Config()) as proxy:
        upstream.faults.add(
            {"match": {"operationId": "getMyProfile"}, "action": {"type": "status", "status": 200, "body": {"id": "7"}}}
        )
        chrome.get(proxy.base_url + "/_mock/ui/")
        wait(lambda d: d.find_element(By.ID, "live").text == "live")
        wait(lambda d: d.find_element(By.ID, "tab-drift").is_displayed())
        headers = upstream.auth_headers()
        with requests.get(proxy.api_url + "/MyProfile", headers=headers, timeout=TIMEOUT) as response:
            assert response.json() == {"id": "7"}
        chrome.find_element(By.ID, "tab-drift").click()
        wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#drift-list tr")) >= 1)
        text = chrome.find_element(By.ID, "drift-list").text
        assert "document getMyProfile" in text and "where the document says otherwise: body at /" in text
        chrome.find_element(By.ID, "tab-requests").click()
        wait(lambda d: "getMyProfile" in d.find_element(By.ID, "req-list").text)
        chrome.get("about:blank")


@pytest.mark.no_leak_check
def test_a_plain_mock_has_no_drift_tab(chrome: Any) -> None:
    with MockServer() as mock:
        chrome.get(mock.base_url + "/_mock/ui/")
        WebDriverWait(chrome, TIMEOUT).until(lambda d: d.find_element(By.ID, "live").text == "live")
        assert not chrome.find_element(By.ID, "tab-drift").is_displayed()
        chrome.get("about:blank")
