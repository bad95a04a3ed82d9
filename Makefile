# Two commands do all set-up: `make demo` and `make test`. Both create .venv and
# install loadrec (editable, with its test extra) on first use; later runs reuse it
# until pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# mypy cannot follow the editable install's folder mapping (engine/ -> loadrec.engine):
# it reads the folders through these links (pyproject.toml: mypy_path).
TYPING := $(VENV)/typing/loadrec

.PHONY: demo test check lint unit install clean report-screenshot docker-smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	mkdir -p $(TYPING)
	for package in engine shapes payloads; do ln -sfn "$(CURDIR)/$$package" "$(TYPING)/$$package"; done
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -P -m loadrec.engine.sample.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# The inner loop: lint, types and the unit tests (well under 30 s).
check: lint unit

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Render RESULTS (default: a built-in fixture) to report.html and screenshot it with headless Chromium
# (Debian: apt-get install chromium).
report-screenshot: $(STAMP)
	$(BIN)/python -m tests.report_screenshot $(RESULTS)

# Build the Docker image and run docker/smoke-job.json on one master and two workers (skipped without a Docker engine).
docker-smoke:
	bash docker/smoke.sh
