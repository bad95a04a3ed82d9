"""A real headless browser: Debian's chromium driven by Selenium through Debian's chromedriver.

Nothing is downloaded: Selenium is pointed at the system binaries (``make test`` installs
them with apt-get when it can, see docs/troubleshooting.md). Without them the browser tests fail with
the command to run, never skip. ``Page.shot(name)`` keeps a screenshot per step in the
test's temporary folder, for debugging.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("LOADREC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LOADREC_CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL = "apt-get install chromium chromium-driver (or: make browser)"
# This machine's network is closed: background fetches would only fail, slowly.
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,1000",
)  # fmt: skip


@dataclass
class Page:
    driver: WebDriver
    shots: Path
    count: int = 0

    def shot(self, name: str) -> None:
        self.count += 1
        full_page(self.driver, self.shots / f"{self.count:02d}-{name}.png")

    def wait(self, condition: Callable[[WebDriver], Any], timeout_s: float = 30, message: str = "") -> Any:
        # The live part of the page is replaced every second: an element found just before a refresh is stale
        # when read, which says nothing about the condition: look again, as for an element not there yet.
        ignored = (NoSuchElementException, StaleElementReferenceException)
        try:
            return WebDriverWait(self.driver, timeout_s, poll_frequency=0.2, ignored_exceptions=ignored).until(
                condition, message
            )
        except Exception:
            self.shot("timed-out")
            raise


def full_page(driver: WebDriver, path: Path) -> None:
    """A screenshot of the whole page, not only the window (Chromium's DevTools protocol)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="session")
def browser_binaries() -> tuple[str, str]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"the browser tests need {', '.join(missing)}: {INSTALL}", pytrace=False)
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture
def page(browser_binaries: tuple[str, str], tmp_path: Path) -> Iterator[Page]:
    chromium, chromedriver = browser_binaries
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        yield Page(driver, shots)
    finally:
        driver.quit()
