"""Render a run's report.html and screenshot it with headless Chromium, to see the page as a reader does.

    python -m tests.report_screenshot [RESULTS_DIR] [--png PATH]

RESULTS_DIR is a results directory of a loadrec run; without it, the unit-test fixture's
results are written to a new temporary directory. The report is written next to the results and the
screenshot beside it (or to --png). Chromium runs with a throw-away profile and every
background network feature off: the report must render from the file alone.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
WINDOW = "1400,3000"
MIN_BYTES = 20_000  # a blank 1400×3000 page compresses to a few KB
MIN_DISTINCT = 16  # byte values in the decoded scanlines: a blank page has two or three


def write_report(results_dir: Path | None) -> Path:
    """report.html of ``results_dir`` (rendered anew from its tests' files), or of the fixture."""
    if str(ROOT) not in sys.path:  # run as a plain script, the repository root is not on the path
        sys.path.insert(0, str(ROOT))
    from loadrec.engine.results.files import REPORT, ResultsFolder
    from loadrec.engine.results.outputs.report import render_report
    from loadrec.engine.running.manifest import load_results
    from tests.report_fixture import fixture_results

    if results_dir is None:
        results_dir = Path(tempfile.mkdtemp(prefix="loadrec-report-"))
        results = fixture_results()
    else:
        results = load_results(ResultsFolder(results_dir))
    target = results_dir / REPORT
    target.write_text(render_report(results), encoding="utf-8")
    return target


def chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        raise SystemExit(f"chromium not found at {CHROMIUM} or on PATH: apt-get install chromium")
    return found


def screenshot(report: Path, png: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="loadrec-chromium-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW}",
            f"--screenshot={png}",
            report.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not png.exists():
        raise SystemExit(f"chromium failed (exit {done.returncode}):\n{done.stderr[-2000:]}")


def distinct_bytes(png: Path) -> int:
    """How many byte values the decoded image data holds: a blank page has almost none."""
    data = png.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{png} is not a PNG")
    position, compressed = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            compressed += data[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(compressed)))


def check(png: Path) -> None:
    size = png.stat().st_size
    if size < MIN_BYTES:
        raise SystemExit(f"{png} is {size} bytes: the page looks blank")
    distinct = distinct_bytes(png)
    if distinct < MIN_DISTINCT:
        raise SystemExit(f"{png} holds {distinct} distinct byte values: the page looks blank")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", type=Path, help="a results directory of a loadrec run")
    parser.add_argument("--png", type=Path, help="screenshot path (default: report.png beside the report)")
    args = parser.parse_args(argv)
    if args.results is not None and not (args.results / "run.json").exists():
        raise SystemExit(f"{args.results / 'run.json'} not found: not a results directory of loadrec")
    report = write_report(args.results)
    png = (args.png or report.with_suffix(".png")).resolve()
    screenshot(report, png)
    check(png)
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
