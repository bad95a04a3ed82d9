# Two commands do all set-up: `make demo` and `make test`. Both create .venv and
# install loadrec (editable, with its test extra) on first use; later runs reuse it
# until pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install clean report-screenshot docker-smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m engine.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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
