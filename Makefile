# Two commands on a fresh machine: `make run` and `make test` (only python3.11 needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_DATA_DIR ?= $(CURDIR)/var/test

.PHONY: run test lint format demo stop migrate shell clean venv \
	bench-transitions bench-gate bench-exec bench-loop fuzz

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

BENCH_ENV := AIOPS_DATA_DIR=$(CURDIR)/var/bench AIOPS_TEST_APPS=1

bench-transitions: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.transitions

bench-gate: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.gate

bench-exec: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.exec

bench-loop: $(STAMP)
	$(BENCH_ENV) $(PY) -m bench.loop

# schemathesis against the live schema of a real gunicorn on var/fuzz (docs/fuzzing.md);
# FUZZ_EXAMPLES per operation and phase, per role: over 10,000 requests in all.
FUZZ_EXAMPLES ?= 250
FUZZ_ENV := AIOPS_DATA_DIR=$(CURDIR)/var/fuzz AIOPS_TEST_APPS=1

fuzz: $(STAMP)
	$(FUZZ_ENV) AIOPS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m scripts.fuzz; \
	status=$$?; $(FUZZ_ENV) $(PY) -m aiops.embedded stop; exit $$status

# The seed's closed loop over HTTP against a running `make run` (see README).
demo: $(STAMP)
	$(PY) -m scripts.demo

clean:
	rm -rf $(VENV) var
