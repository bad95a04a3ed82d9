"""``loadrec ui`` in a real headless Chromium, driven as a person would.

Read the plan, press START, watch each configuration's values change until the monitor
stops its test, read the ranked table, change an importance and see the order change,
follow the report link, and check the page against the results on disk; press STOP in a
second run (STOPPED on the page and on disk) and START a third with clean charts; log in
through the form. A screenshot per step goes to the test's temporary folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from tests.browser.conftest import Page
from tests.e2e.jobs import http_target, write_job
from tests.e2e.moto import free_port
from tests.e2e.servers import sample_endpoint, web_ui

pytestmark = pytest.mark.browser

LATENCY_STOP = {"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 90}]}
Check = Callable[[WebDriver], Any]


@pytest.fixture(scope="module")
def endpoints() -> Iterator[tuple[str, str]]:
    """A small endpoint (1 slot of 50 ms: 1,200 invocations/min) and a big one (4 slots: 4,800)."""
    with sample_endpoint(workers=1, service_ms=50) as small, sample_endpoint(workers=4, service_ms=50) as big:
        yield small, big


def two_sizes(folder: Path, endpoints: tuple[str, str], stairs: tuple[int, int, int] = (24, 6, 1)) -> Path:
    """A job comparing the small endpoint (cheap) with the big one (five times its throughput, ten times its price)."""
    small, big = endpoints
    job = write_job(folder, http_target(small), LATENCY_STOP, stairs=stairs)
    request = json.loads(job.read_text())
    request["InputConfig"]["EndpointConfigurations"] = [
        {"InstanceType": "ml.c5.large"},
        {"InstanceType": "ml.c5.4xlarge"},
    ]
    request["InputConfig"]["ResourceLimit"] = {"MaxNumberOfTests": 2, "MaxParallelOfTests": 2}
    request["Loadrec"]["Targets"] = [
        {**http_target(small), "PricePerHour": 0.05},
        {**http_target(big), "PricePerHour": 0.5},
    ]
    job.write_text(json.dumps(request))
    return job


def text(driver: WebDriver, css: str = "body") -> str:
    """The visible text of the first element matching ``css`` ("" while the page replaces it)."""
    try:
        return str(driver.find_element(By.CSS_SELECTOR, css).text)
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def texts(driver: WebDriver, css: str) -> list[str]:
    try:
        return [str(element.text) for element in driver.find_elements(By.CSS_SELECTOR, css)]
    except StaleElementReferenceException:
        return []


def press(page: Page, element_id: str) -> None:
    """Press a button once it is enabled (the live part is redrawn every second: try again)."""

    def pressed(driver: WebDriver) -> bool:
        try:
            button = driver.find_element(By.ID, element_id)
            if not button.is_enabled():
                return False
            button.click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    page.wait(pressed, message=f"no enabled {element_id} button")


def shows(words: str, css: str = "body") -> Check:
    return lambda driver: words in text(driver, css)


def table(driver: WebDriver) -> list[list[str]]:
    """The recommendation table's rows, as the cells' texts."""
    try:
        rows = driver.find_elements(By.CSS_SELECTOR, "#recommendation table.recommendations tr")
        return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows[1:]]
    except StaleElementReferenceException:
        return []


def top_pick(driver: WebDriver) -> str:
    """The first row's configuration when it is the top pick (the table lists the best first)."""
    rows = table(driver)
    return rows[0][3] if rows and "top pick" in rows[0][0] else ""


def describe(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "describe.json").read_text()))


def test_a_person_runs_the_whole_job_watches_it_and_reads_the_recommendation(
    page: Page, tmp_path: Path, endpoints: tuple[str, str]
) -> None:
    job = two_sizes(tmp_path, endpoints)
    out, port = tmp_path / "out", free_port()
    driver = page.driver
    with web_ui(job, out, port):
        driver.get(f"http://127.0.0.1:{port}/")
        page.wait(shows("Configurations", "#plan"), message="no plan")
        plan = text(driver, "#plan")
        expected = ("e2e", "STAIRS: 24 s, peaking at 6 users", "P95 model latency", "90 ms", "ml.c5.4xlarge")
        expected += (
            f"{endpoints[1]}/invocations",
            "$0.5/hour",
            "3 payloads (text/csv)",
            "at most 2 tests, 2 at a time",
        )
        for words in expected:
            assert words in plan, words
        assert not driver.find_elements(By.TAG_NAME, "input")  # nothing to edit: the job says it all
        page.shot("plan")

        press(page, "start")
        page.wait(shows("Run 1", "#live"), message="the run did not start")
        page.wait(shows("◀ closest", "section.test"), message="no live stopping conditions")
        first = text(driver, "section.test .detail")
        page.wait(lambda d: text(d, "section.test .detail") not in ("", first), message="the window does not move")
        page.shot("running")
        page.wait(
            shows("Stop reason: latency threshold", "section.test[data-index='0']"), 60, "the monitor did not stop"
        )
        page.shot("small-stopped-by-the-monitor")
        page.wait(lambda d: table(d), 90, message="no recommendation")
        page.shot("ranked")
        notes = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "section.test[data-index='0'] .note")]
        assert any(n.startswith("95 % intervals (") and "MaxInvocations" in n for n in notes), notes
        ranked_by_cost = table(driver)
        assert top_pick(driver) == "ml.c5.large"  # cost weighs most by default: the cheap one

        Select(driver.find_element(By.CSS_SELECTOR, "select[name=throughput]")).select_by_visible_text("Highest")
        page.wait(lambda d: top_pick(d) == "ml.c5.4xlarge", message="changing the importance did not re-rank")
        page.shot("re-ranked-by-throughput")

        driver.find_element(By.LINK_TEXT, "report.html").click()
        driver.switch_to.window(driver.window_handles[-1])
        page.wait(lambda d: d.title == "loadrec report: e2e", message="the report did not open")
        assert "ml.c5.4xlarge" in text(driver) and "Recommendation" in text(driver)
        page.shot("report")

    body = describe(out / "run-1")
    assert body["Status"] == "COMPLETED"
    assert body["Loadrec"]["TopRecommendation"]["Configuration"] == "ml.c5.large"
    on_disk = {t["Configuration"]: t for t in body["Loadrec"]["Tests"]}
    for row in ranked_by_cost:
        label, status, stopped_by, max_invocations = row[3], row[4], row[5], row[6]
        assert status == on_disk[label]["Status"] and stopped_by.startswith(on_disk[label]["StopReason"])
        measured = next(
            r for r in body["InferenceRecommendations"] if r["EndpointConfiguration"]["InstanceType"] == label
        )
        assert max_invocations == f"{measured['Metrics']['MaxInvocations']:,}"


def test_a_stop_press_ends_the_run_as_stopped_and_start_begins_a_clean_one(
    page: Page, tmp_path: Path, endpoints: tuple[str, str]
) -> None:
    job = two_sizes(tmp_path, endpoints, stairs=(120, 2, 1))
    out, port = tmp_path / "out", free_port()
    driver = page.driver
    with web_ui(job, out, port):
        driver.get(f"http://127.0.0.1:{port}/")
        press(page, "start")
        page.wait(shows("◀ closest", "section.test"), message="no live values")
        driver.set_window_size(390, 844)  # a phone: nothing scrolls sideways, the closest marker is in sight
        page.wait(lambda d: d.execute_script("return window.innerWidth") <= 400, message="the window did not narrow")
        widths = driver.execute_script(
            "const m = [...document.querySelectorAll('td')].find(t => t.textContent.includes('◀ closest'));"
            "return [document.documentElement.scrollWidth, window.innerWidth, m.getBoundingClientRect().right];"
        )
        page.shot("narrow")
        assert widths[0] <= widths[1] and widths[2] <= widths[1], widths
        driver.set_window_size(1280, 1000)
        press(page, "stop")
        page.wait(shows("Stop reason: stopped by user", "section.test"), 40, "the Stop press is not shown")
        page.wait(lambda d: d.find_element(By.ID, "start").is_enabled(), 40, "START is not offered again")
        page.shot("stopped")
        assert "STOPPED" in text(driver, "#live header")
        stopped = describe(out / "run-1")

        press(page, "start")
        page.wait(shows("Run 2", "#live"), message="no second run")
        page.shot("second-run")
        assert "stopped by user" not in text(driver, "#live")  # its own tests, its own charts
        press(page, "stop")
        page.wait(lambda d: d.find_element(By.ID, "start").is_enabled(), 40, "the second run did not stop")

    assert stopped["Status"] == "STOPPED"
    assert {t["Status"] for t in stopped["Loadrec"]["Tests"]} == {"STOPPED"}
    assert all(t["StopReason"] == "stopped by user" for t in stopped["Loadrec"]["Tests"])
    assert describe(out / "run-2")["Status"] == "STOPPED"


def test_the_login_form_guards_the_page_in_a_real_browser(
    page: Page, tmp_path: Path, endpoints: tuple[str, str]
) -> None:
    job = write_job(tmp_path, http_target(endpoints[0]), LATENCY_STOP)
    port = free_port()
    credentials = {"LOADREC_WEB_USERNAME": "ops", "LOADREC_WEB_PASSWORD": "s3cret-pass"}
    driver = page.driver
    with web_ui(job, tmp_path / "out", port, **credentials):
        driver.get(f"http://127.0.0.1:{port}/")
        page.wait(lambda d: d.find_elements(By.NAME, "password"), message="no login form")
        assert driver.current_url.endswith("/login") and "START" not in text(driver)
        page.shot("login")
        for password, expected in (("wrong", "Invalid username or password"), ("s3cret-pass", "Configurations")):
            driver.find_element(By.NAME, "username").send_keys("ops")
            driver.find_element(By.NAME, "password").send_keys(password)
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            page.wait(shows(expected), message=expected)
            page.shot("wrong-password" if password == "wrong" else "logged-in")
        driver.get(f"http://127.0.0.1:{port}/loadrec/status")
        assert json.loads(text(driver)) == {"state": "ready"}
