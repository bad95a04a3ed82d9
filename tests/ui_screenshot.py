"""Run the demo job in the web UI, press START in headless Chromium, and screenshot the page at the end of the run.

    python -m tests.ui_screenshot [--png PATH]

The picture in the README and the docs (docs/web-ui.png by default): the ranked recommendation, the
importance selectors, and each configuration's live values and charts as the run left
them. Uses ``make demo-ui``'s demo (two local sample endpoints) on a free port.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script, the repository root is not on the path
    sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, FLAGS, full_page  # noqa: E402
from tests.e2e.moto import free_port  # noqa: E402

PNG = ROOT / "docs" / "web-ui.png"


def wait_for_ui(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the demo's web UI did not start") from None
            time.sleep(0.3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, default=PNG)
    args = parser.parse_args()
    port = free_port()
    demo = subprocess.Popen([sys.executable, "-P", "-m", "loadrec.engine.sample.demo", "--ui", str(port)], cwd=ROOT)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    try:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            options.add_argument(f"--user-data-dir={profile}")
            url = f"http://127.0.0.1:{port}/"
            wait_for_ui(url, demo)
            driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
            try:
                driver.get(url)
                driver.find_element(By.ID, "start").click()
                WebDriverWait(driver, 300, poll_frequency=1).until(
                    lambda d: d.find_elements(By.CSS_SELECTOR, "#recommendation table"), "the run did not end"
                )
                time.sleep(1.5)  # one more refresh: the page as it stays
                args.png.parent.mkdir(parents=True, exist_ok=True)
                full_page(driver, args.png)
            finally:
                driver.quit()
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)
    print(args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
