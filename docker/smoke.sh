#!/usr/bin/env bash
# Smoke test of the Docker image: build it, run docker/smoke-job.json with one master and two
# workers against the compose sample endpoint, check that describe.json was written, tear down.
#
#   bash docker/smoke.sh        (from anywhere; `make docker-smoke`)
#
# Without a Docker engine (no docker command, or no daemon running) it prints "no Docker
# engine: skipped" and exits 0. An engine that exists but cannot be reached (permission
# denied on its socket, a DOCKER_HOST that does not answer) fails, saying why.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
compose_file="$here/docker-compose.yml"
project="loadrec-smoke-$$"
run_name="smoke"

say() { echo "docker-smoke: $*"; }

if ! command -v docker >/dev/null 2>&1; then
  say "no Docker engine: skipped"
  exit 0
fi
if ! problem="$(docker info 2>&1 >/dev/null)"; then
  if [ -z "${DOCKER_HOST:-}" ] && ! grep -qi "permission denied" <<<"$problem"; then
    say "no Docker engine: skipped"
    exit 0
  fi
  say "FAILED: a Docker engine is configured but cannot be reached: $(grep -v '^\s*$' <<<"$problem" | tail -1)" >&2
  exit 1
fi
if ! docker compose version >/dev/null 2>&1; then
  say "the Docker Compose plugin ('docker compose') is missing" >&2
  exit 1
fi

results="$(mktemp -d "${TMPDIR:-/tmp}/loadrec-smoke.XXXXXX")"

# The containers write the results; run them as the calling user so the files are theirs,
# but never as root: as root, keep the image's user and open the scratch directory to it.
if [ "$(id -u)" -ne 0 ]; then
  export LOADREC_UID LOADREC_GID
  LOADREC_UID="$(id -u)"
  LOADREC_GID="$(id -g)"
else
  chmod 0777 "$results"
fi

export WORKERS=2
export JOBS_DIR="$here"
export JOB_FILE="smoke-job.json"
export RESULTS_DIR="$results"
export RUN_NAME="$run_name"
export RUN_ARGS="--limits relaxed --window 5 --evaluate-every 1 --seed 1"
export MASTER_BIND="127.0.0.1"
export UI_BIND="127.0.0.1"

compose() { docker compose --project-name "$project" --file "$compose_file" --profile smoke "$@"; }

cleanup() {
  compose down --volumes --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$results" 2>/dev/null || true
}
trap cleanup EXIT

say "building the image"
compose build master

say "starting the sample endpoint"
compose up --detach --wait endpoint

say "running smoke-job.json: one master, $WORKERS workers"
status=0
compose up --no-build --scale "worker=$WORKERS" --exit-code-from master master worker || status=$?
if [ "$status" -ne 0 ]; then
  say "the master exited with $status; the endpoint's last lines:" >&2
  compose logs --no-color --tail 20 endpoint >&2 || true
  say "FAILED" >&2
  exit 1
fi

describe="$results/$run_name/describe.json"
if [ ! -s "$describe" ]; then
  say "FAILED: $describe was not written" >&2
  exit 1
fi

compose run --rm --no-deps master describe "/results/$run_name"
say "passed: describe.json written by a master with $WORKERS workers"
