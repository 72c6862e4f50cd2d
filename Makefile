# SIPREMS: the two commands that matter are `make run` and `make test`.
.PHONY: run test deps stack-prepare clean-run lint loadtest bench chaos soak

deps:
	@scripts/install-deps.sh

# The whole stack locally with demo data: PostgreSQL, pgbouncer, two Redis,
# two API instances, HAProxy on :5000 (stats on :8404). Ctrl-C stops it all.
run: deps
	@.venv/bin/python -m devtools.stack prepare .run
	@echo ""
	@echo "  API (HAProxy)  http://127.0.0.1:5000   (try /health, /ready, /docs)"
	@echo "  HAProxy stats  http://127.0.0.1:8404/stats"
	@echo "  instances      http://127.0.0.1:8001  http://127.0.0.1:8002"
	@echo "  demo login     demo@siprems.local / Demo12345"
	@echo ""
	@.venv/bin/honcho -e .run/env -f Procfile start

test: deps
	@.venv/bin/python -m pytest $(PYTEST_ARGS)

clean-run:
	rm -rf .run

# ruff (rules in pyproject.toml), the formatter, mypy (strict on siprems/jobs and
# siprems/inventory), import-linter (layer contracts in setup.cfg).
LINT_PATHS = siprems workers tests devtools benchmarks loadtests
lint: deps
	.venv/bin/ruff check $(LINT_PATHS)
	.venv/bin/ruff format --check $(LINT_PATHS)
	.venv/bin/mypy
	.venv/bin/lint-imports

# 500 store owners against the running local stack (start `make run` first).
USERS ?= 500
SPAWN ?= 50
DURATION ?= 3m
loadtest: deps
	@USERS=$(USERS) SPAWN=$(SPAWN) DURATION=$(DURATION) .venv/bin/python loadtests/run.py

# Peak throughput with wrk against a fresh stack (starts and stops its own).
bench: deps
	@command -v wrk >/dev/null || (apt-get install -y -qq wrk || sudo apt-get install -y -qq wrk)
	@.venv/bin/python benchmarks/peak.py

# Fault suite (~4 min): starts its own stack in a temp dir, drives traffic, kills
# and restarts each part, checks nothing acknowledged was lost; prints the
# Reliability table. CHAOS_ARGS e.g. "--faults api,postgres --keep".
chaos: deps
	@.venv/bin/python loadtests/chaos.py $(CHAOS_ARGS)

# An hour under the capacity workload (starts its own stack): samples every
# resource every 10 s and fails when one keeps growing after warm-up or on any
# 5xx; CSV, PNG chart and summary in loadtests/results/soak-*/. Not in `make test`;
# CI: `make soak SOAK_MINUTES=2 SOAK_USERS=30`.
SOAK_MINUTES ?= 60
SOAK_USERS ?= 120
soak: deps
	@SOAK_MINUTES=$(SOAK_MINUTES) SOAK_USERS=$(SOAK_USERS) .venv/bin/python loadtests/soak.py $(SOAK_ARGS)
