# Two commands do all set-up: `make demo` and `make test`. Both create .venv and
# install loadrec (editable, with its test extra) on first use, every dependency at the
# version pinned in constraints.txt; later runs reuse it until pyproject.toml or
# constraints.txt changes. `make lock` re-pins (see docs/development.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# mypy cannot follow the editable install's folder mapping (engine/ -> loadrec.engine):
# it reads the folders through these links (pyproject.toml: mypy_path).
TYPING := $(VENV)/typing/loadrec

.PHONY: demo demo-ui ui-screenshot test check lint unit unit-a unit-b install clean lock properties browser report-screenshot docker-smoke
.PHONY: docs

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt -e '.[test]'
	mkdir -p $(TYPING)
	for package in engine shapes payloads; do ln -sfn "$(CURDIR)/$$package" "$(TYPING)/$$package"; done
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -P -m loadrec.engine.sample.demo

# The same demo job from the web UI (http://127.0.0.1:8089): press START; Ctrl-C to quit.
demo-ui: $(STAMP)
	$(BIN)/python -P -m loadrec.engine.sample.demo --ui

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# The inner loop: lint, types and the unit tests, in two pytest processes side by side and with fewer
# Hypothesis examples than `make test` tries: about half the time of `make unit` on two cores (25-35 s
# against 45-80 s). The folders in UNIT_A hold about half the time; the rest, new folders included, run
# in the other process. Not pytest-xdist: its workers and gevent's monkey-patching do not mix.
UNIT_A := tests/unit/api tests/unit/payloads tests/unit/cli tests/unit/webui tests/unit/streaming tests/unit/measurement
check: $(STAMP)
	$(MAKE) -j3 --no-print-directory --output-sync=target lint unit-a unit-b

unit-a:
	@HYPOTHESIS_PROFILE=quick $(BIN)/pytest $(UNIT_A)

unit-b:
	@HYPOTHESIS_PROFILE=quick $(BIN)/pytest tests/unit $(UNIT_A:%=--ignore=%)

test: lint browser docs
	$(BIN)/pytest

# The docs site (mkdocs.yml, docs/) built with --strict: a broken link, anchor or page left out of the nav
# fails. Offline: the theme loads no web fonts and no plugin fetches anything. The site lands under build/
# (git-ignored). NO_MKDOCS_2_WARNING: the theme otherwise prints a notice of its end of life (May 2027)
# on every build.
SITE := build/site
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(SITE)

# The browser tests (tests/browser) drive Debian's chromium through its chromedriver: nothing
# is downloaded at test time. Installed with apt-get when missing and this user is root;
# otherwise the command to run is printed and make stops.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
	  echo "the browser tests need Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2; \
	  exit 1; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info $(SITE)

# Re-resolve every dependency (runtime and test) to the newest version pyproject.toml
# allows, in a scratch environment, and pin them all in constraints.txt. Review the
# diff, run `make test`, commit: make and the Dockerfile install exactly these.
LOCK_VENV := build/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[test]'
	( echo "# Every dependency of loadrec and its tests, pinned. Regenerate with: make lock"; \
	  $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable | grep -v '^loadrec' ) > constraints.txt
	rm -rf $(LOCK_VENV)

# The property-based reliability suite, long: many more generated job files than `make test` tries.
properties: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/pytest tests/unit/cli/test_properties.py tests/unit/api/test_api_properties.py

# Render RESULTS (default: a built-in fixture) to report.html and screenshot it with headless Chromium
# (Debian: apt-get install chromium).
report-screenshot: $(STAMP)
	$(BIN)/python -m tests.report_screenshot $(RESULTS)

# Run the demo job in the web UI, driven by headless Chromium, and keep a screenshot of the
# page at the end of the run (docs/web-ui.png, the README's picture).
ui-screenshot: $(STAMP) browser
	$(BIN)/python -m tests.ui_screenshot

# Build the Docker image and run docker/smoke-job.json on one master and two workers (skipped without a Docker engine).
docker-smoke:
	bash docker/smoke.sh
