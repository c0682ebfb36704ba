"""Real headless Chromium for the dashboard tests (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium).

Skipped, saying what is missing, only when no browser can be started: install ``chromium chromium-driver``
(``apt-get install -y chromium chromium-driver``) and ``pip install selenium``. ``.ci/run`` installs both.
Set ``CXMOCK_CHROMIUM`` / ``CXMOCK_CHROMEDRIVER`` to use other binaries.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

#: the flags of the issue: headless, no sandbox (root in a container), and nothing that talks to the network
CHROMIUM_FLAGS = [
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


def _binary(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    """One headless Chromium per module (a fresh profile); each test navigates it."""
    yield from start_chrome()


@pytest.fixture(scope="module")
def chrome_hosts() -> Iterator[Any]:
    """A headless Chromium in which ``attacker.test`` and ``rebound.test`` resolve to 127.0.0.1 (and only in it: no
    DNS query leaves the machine): another origin and a DNS-rebound name for the cross-origin tests (#23)."""
    yield from start_chrome(("--host-resolver-rules=MAP attacker.test 127.0.0.1, MAP rebound.test 127.0.0.1",))


def start_chrome(extra_flags: tuple[str, ...] = ()) -> Iterator[Any]:
    """A headless Chromium with :data:`CHROMIUM_FLAGS` and ``extra_flags`` (a fixture's body: skips the test when
    no browser can be started, quits it when resumed)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("the browser tests need selenium: pip install selenium")
    browser = _binary("CXMOCK_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    driver_bin = _binary("CXMOCK_CHROMEDRIVER", "chromedriver")
    if browser is None or driver_bin is None:
        pytest.skip("the browser tests need Chromium and its driver: apt-get install -y chromium chromium-driver")
    with tempfile.TemporaryDirectory(prefix="cxmock-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*CHROMIUM_FLAGS, *extra_flags):
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_bin))
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()
