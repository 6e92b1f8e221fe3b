# Two commands on a fresh machine: `make run` and `make test` (only python3.11 needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_DATA_DIR ?= $(CURDIR)/var/test

.PHONY: run test lint audit format demo stop migrate shell clean venv image \
	bench bench-transitions bench-ingest bench-gate bench-exec bench-loop bench-outbox \
	bench-memory bench-analyst bench-nab bench-kb bench-admin bench-clean fuzz soak

$(STAMP): requirements.txt requirements.lock.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt -c requirements.lock.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) manage.py runplatform

test: $(STAMP)
	rm -rf $(TEST_DATA_DIR)/prometheus
	AIOPS_DATA_DIR=$(TEST_DATA_DIR) AIOPS_TEST_APPS=1 $(PY) -m pytest $(PYTEST_ARGS); \
	status=$$?; AIOPS_DATA_DIR=$(TEST_DATA_DIR) $(PY) -m aiops.embedded stop; exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo

# Known vulnerabilities of the pinned set: every pin of requirements.lock.txt as it stands
# (--no-deps: the lock is the whole set, nothing is resolved or installed). Fails on one
# found; a pin the vulnerability service has no record of is listed as skipped, not fatal.
audit: $(STAMP)
	$(VENV)/bin/pip-audit -r requirements.lock.txt --disable-pip --no-deps --progress-spinner off

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: $(STAMP)
	$(PY) manage.py migrate

shell: $(STAMP)
	$(PY) manage.py shell

# Stop embedded PostgreSQL/Redis left running by a shell or test session.
stop: $(STAMP)
	$(PY) -m aiops.embedded stop
	AIOPS_DATA_DIR=$(TEST_DATA_DIR) $(PY) -m aiops.embedded stop

# The benches measure the request path, not the per-user rate caps: one bench user sends
# hundreds of writes a second, so the caps are raised out of the way (servers inherit them).
# Per second, so each request still counts itself in a history as short as the defaults keep.
BENCH_ENV := AIOPS_DATA_DIR=$(CURDIR)/var/bench AIOPS_TEST_APPS=1 \
	AIOPS_THROTTLE_WRITES=100000/s AIOPS_THROTTLE_INGEST=100000/s

# The service layer against a raw psycopg floor, then PATCH /case/{id}/transition at a
# steady 200 requests/s (open loop) against `make run`'s processes at 10,000 and at
# 1,000,000 seeded cases (10 timeline rows each: the seeding takes minutes).
bench-transitions: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.transitions

# POST /ingest/metrics from 4 client processes against `make run`'s processes, with the
# database (psycopg COPY) and HTTP (/healthz) floors measured in the same run.
bench-ingest: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.ingest

bench-gate: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.gate

bench-exec: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.exec

# bench-exec, -loop, -outbox and -memory run `make run`'s own processes (bench/platform.py)
# under var/bench and drive them over HTTP; each compares with a bare Celery hop of the run.
bench-loop: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.loop

# Commit → delivered at 500 events/s for 60 s; the relay's ceiling with 1 and 2 processes.
bench-outbox: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.outbox

# RSS of every process over a soak of the loop: BENCH_SOAK_S seconds (10 minutes).
bench-memory: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.memory

# Every bench but NAB (it needs a NAB checkout), one after the other.
bench: bench-transitions bench-ingest bench-gate bench-exec bench-loop bench-outbox bench-memory \
	bench-analyst bench-kb bench-admin

bench-analyst: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.analyst

# The Librarian's retrieval quality (recall@1/@5, MRR per mode) on bench/kb_corpus.
bench-kb: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.kb

# The operator's admin pages at 10,000 cases and 1,000,000 timeline rows, over HTTP against
# `make run`'s processes on their own data dir (seeded once; docs/operator-ui.md).
bench-admin: $(STAMP)
	$(BENCH_ENV) AIOPS_DATA_DIR=$(CURDIR)/var/bench-admin $(PY) -m bench.admin

# NAB (numenta/NAB data, read from NAB_ROOT: a NAB checkout); no database needed.
bench-nab: $(STAMP)
	$(PY) -m bench.nab

# The unattended loop with a worker SIGKILLed every SOAK_KILL_EVERY_S seconds (the two pools
# in turn): 1,000 cases, SOAK_IN_FLIGHT open at a time (the suite runs 40, a kill every 2 s). A
# restarted worker takes a few seconds to boot, so at 2 s the soak measures boots, not the loop.
SOAK_CASES ?= 1000
SOAK_KILL_EVERY_S ?= 5
SOAK_IN_FLIGHT ?= 50

soak: $(STAMP)
	AIOPS_SOAK_CASES=$(SOAK_CASES) AIOPS_SOAK_KILL_EVERY_S=$(SOAK_KILL_EVERY_S) \
	AIOPS_SOAK_IN_FLIGHT=$(SOAK_IN_FLIGHT) $(MAKE) -o $(STAMP) test PYTEST_ARGS="tests/test_soak.py -s -p no:cacheprovider" \
		TEST_DATA_DIR=$(CURDIR)/var/soak

# schemathesis against the live schema of a real gunicorn on var/fuzz (docs/fuzzing.md);
# FUZZ_EXAMPLES per operation and phase, per role: over 10,000 requests in all.
FUZZ_EXAMPLES ?= 250
FUZZ_ENV := AIOPS_DATA_DIR=$(CURDIR)/var/fuzz AIOPS_TEST_APPS=1

fuzz: $(STAMP)
	$(FUZZ_ENV) AIOPS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m scripts.fuzz; \
	status=$$?; $(FUZZ_ENV) $(PY) -m aiops.embedded stop; exit $$status

# The one image of every role (docs/operations.md); needs a Docker engine. IMAGE=name:tag
IMAGE ?= aiops:latest

image:
	docker build -f docker/Dockerfile -t $(IMAGE) .

# The seed's closed loop over HTTP against a running `make run` (see README).
demo: $(STAMP)
	$(PY) -m scripts.demo

# The benches keep their data dirs (var/bench*) between runs: seeding a million cases takes
# minutes. This removes them; `make stop` first if a bench's services are still up.
bench-clean:
	rm -rf var/bench var/bench-admin

clean:
	rm -rf $(VENV) var
