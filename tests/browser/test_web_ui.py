"""``loadrec ui`` in a real headless Chromium, driven as a person would.

Open the page, press START, watch the Recommender tab until the monitor stops the test,
compare what the page said with the results on disk; try another host (refused, no
load); Stop a second run (STOPPED on the page and on disk); log in through the form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import Page
from tests.e2e.jobs import http_target, write_job
from tests.e2e.moto import free_port
from tests.e2e.servers import sample_endpoint, web_ui

pytestmark = pytest.mark.browser

LATENCY_STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 90}]}
RECOMMENDER_TAB = "//*[@role='tab'][normalize-space()='Recommender' or normalize-space()='RECOMMENDER']"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with sample_endpoint(workers=2, service_ms=50) as url:  # saturates near 2,400 invocations/min
        yield url


def text(driver: WebDriver) -> str:
    """The page's visible text ("" while it is being replaced)."""
    try:
        return str(driver.find_element(By.TAG_NAME, "body").text)
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def labels(driver: WebDriver) -> list[str]:
    """The buttons' labels ([] while the page is being replaced)."""
    try:
        return [b.text.strip().upper() for b in driver.find_elements(By.TAG_NAME, "button")]
    except StaleElementReferenceException:
        return []


def button(page: Page, label: str) -> None:
    """Press the button labelled ``label`` once it shows (React may redraw it meanwhile: try again)."""

    def press(driver: WebDriver) -> bool:
        try:
            found = [b for b in driver.find_elements(By.TAG_NAME, "button") if b.text.strip().upper() == label]
            if found:
                found[0].click()
            return bool(found)
        except StaleElementReferenceException:
            return False

    page.wait(press, message=f"no {label} button")


def shows(words: str) -> Callable[[WebDriver], bool]:
    return lambda driver: words in text(driver) or words in text(driver).upper()


def describe(out: Path) -> dict[str, object]:
    return dict(json.loads((out / "describe.json").read_text()))


def test_start_watch_the_monitor_stop_then_a_stop_press_in_a_real_browser(
    page: Page, tmp_path: Path, endpoint: str
) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP, stairs=(30, 5, 2))
    out, port = tmp_path / "out", free_port()
    base = f"http://127.0.0.1:{port}"
    driver = page.driver
    with web_ui(job, out, port):
        driver.get(base)
        page.wait(lambda d: "START" in text(d).upper(), message="the start form did not show")
        page.shot("ready")

        host = driver.find_element(By.NAME, "host")  # another host: refused, nothing starts
        host.clear()
        host.send_keys("http://127.0.0.1:9")
        button(page, "START")
        page.wait(lambda d: "cannot be changed here" in text(d), message="no refusal shown")
        page.shot("host-refused")
        assert "READY" in text(driver).upper()

        driver.get(base)
        button(page, "START")
        page.wait(lambda d: d.find_elements(By.XPATH, RECOMMENDER_TAB), message="no Recommender tab")
        driver.find_element(By.XPATH, RECOMMENDER_TAB).click()
        page.wait(lambda d: "P95 latency" in text(d), message="no live conditions")
        page.shot("running")
        page.wait(lambda d: "latency threshold" in text(d) and "recommendation" in text(d), 60, "no stop")
        page.shot("stopped-by-the-monitor")
        shown = text(driver)
        first = describe(out)

        button(page, "NEW")  # a second run, stopped by a person
        button(page, "START")
        page.wait(lambda d: "STOP" in labels(d), message="the second run did not start")
        page.wait(lambda d: "P95 latency" in text(d), message="the second run shows no conditions")
        button(page, "STOP")
        page.wait(lambda d: "stopped by user" in text(d), 30, "the Stop press is not shown")
        page.shot("stopped-by-a-person")
        second = describe(out)

    test = first["Loadrec"]["Tests"][0]  # type: ignore[index]
    assert first["Status"] == "COMPLETED" and test["StopReason"] == "latency threshold"
    recommendation = first["InferenceRecommendations"][0]  # type: ignore[index]
    assert f"{recommendation['Metrics']['MaxInvocations']} invocations/min" in shown
    assert second["Status"] == "STOPPED" and second["Loadrec"]["Tests"][0]["Status"] == "STOPPED"  # type: ignore[index]


def test_the_login_form_guards_the_page_in_a_real_browser(page: Page, tmp_path: Path, endpoint: str) -> None:
    job = write_job(tmp_path, http_target(endpoint), LATENCY_STOP)
    port = free_port()
    credentials = {"LOADREC_WEB_USERNAME": "ops", "LOADREC_WEB_PASSWORD": "s3cret-pass"}
    driver = page.driver
    with web_ui(job, tmp_path / "out", port, **credentials):
        driver.get(f"http://127.0.0.1:{port}/")
        page.wait(lambda d: d.find_elements(By.NAME, "password"), message="no login form")
        assert "/login" in driver.current_url and "START" not in text(driver).upper()
        page.shot("login")
        for password, expected in (("wrong", "Invalid username or password"), ("s3cret-pass", "START")):
            user, secret = driver.find_element(By.NAME, "username"), driver.find_element(By.NAME, "password")
            user.clear()
            user.send_keys("ops")
            secret.clear()
            secret.send_keys(password)
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            page.wait(shows(expected), message=expected)
            page.wait(lambda d: d.find_elements(By.NAME, "username") or "START" in text(d).upper())
            page.shot("wrong-password" if password == "wrong" else "logged-in")
        driver.get(f"http://127.0.0.1:{port}/loadrec/status")
        assert json.loads(driver.find_element(By.TAG_NAME, "body").text)["state"] == "ready"
