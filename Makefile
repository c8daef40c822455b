# Maraude — `make run` and `make test` are the whole set-up (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The engine needs Python 3.11 (3.10 also works); the app needs 3.11 or 3.12.
RASA_PY ?= $(shell for p in python3.11 python3.10; do command -v $$p >/dev/null 2>&1 && { echo $$p; break; }; done)
APP_PY ?= $(shell for p in python3.11 python3.12; do command -v $$p >/dev/null 2>&1 && { echo $$p; break; }; done)
NEED_PY = echo "Maraude needs Python 3.11 (python3.11 on PATH; the engine also accepts 3.10, the app 3.12)." \
	"Install it, e.g. 'apt-get install python3.11 python3.11-venv' or 'pyenv install 3.11', then run make again." >&2; exit 1

TRAIN_INPUTS := config.yml maraude.yml $(shell find domain nlu_data engine -type f ! -name '*.pyc' 2>/dev/null)
# Rasa commands run here (tests, benchmarks) call no action server; endpoints.yml needs the values.
RASA_ENV = ACTION_ENDPOINT_URL=http://127.0.0.1:5055/webhook ACTION_ENDPOINT_TOKEN=no-action-server-outside-maraude-up \
	RASA_TRACKER_URL=sqlite:///$(CURDIR)/var/rasa-tracker.db \
	PYTHONPATH=$(CURDIR) RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
PIP_QUIET ?= -q

.PHONY: help install train run test test-engine test-conversations test-python lint format bench bench-scheduler bench-load bench-analytics bench-webchat clean

help:
	@echo "make run    install if needed, train if needed, start engine + app (simulator: /simulateur)"
	@echo "make test   install what tests need, train if needed, run every test"
	@echo "make install | train | lint | format | bench | clean"

.venv/.installed: requirements/app.lock.txt pyproject.toml
	@[ -n "$(APP_PY)" ] || { $(NEED_PY); }
	@[ -x .venv/bin/python ] || $(APP_PY) -m venv .venv
	.venv/bin/pip install $(PIP_QUIET) -r requirements/app.lock.txt
	.venv/bin/pip install $(PIP_QUIET) --no-deps -e .
	@touch $@

.venv-rasa/.installed: requirements/rasa-engine.lock.txt
	@[ -n "$(RASA_PY)" ] || { $(NEED_PY); }
	@[ -x .venv-rasa/bin/python ] || $(RASA_PY) -m venv .venv-rasa
	@echo "Installing the Rasa engine environment (TensorFlow, spaCy: a few minutes, once)…"
	.venv-rasa/bin/pip install $(PIP_QUIET) --no-deps --ignore-requires-python -r requirements/rasa-engine.lock.txt
	@touch $@

install: .venv/.installed .venv-rasa/.installed

# Rasa also fingerprints its inputs; the stamp spares even starting it when nothing changed.
# The stamp carries the time training started: a file edited during training is newer than it,
# so the next make trains again.
models/.trained: $(TRAIN_INPUTS) | .venv/.installed .venv-rasa/.installed
	@mkdir -p models && touch models/.training-started
	.venv/bin/maraude train
	@mv models/.training-started $@

train: models/.trained

run: install train
	.venv/bin/maraude up

test: install train
	$(MAKE) --no-print-directory lint
	.venv/bin/maraude check
	$(MAKE) --no-print-directory test-engine
	$(MAKE) --no-print-directory test-conversations
	$(MAKE) --no-print-directory test-python

# engine/ components run inside the Rasa env: their tests use the stdlib unittest there.
test-engine: .venv-rasa/.installed
	$(RASA_ENV) .venv-rasa/bin/python -m unittest discover -s tests/engine -t .

test-conversations: models/.trained
	$(RASA_ENV) .venv-rasa/bin/rasa test core --e2e --stories tests/conversations --model models \
		--endpoints endpoints.yml --out var/rasa-test-results --fail-on-prediction-errors

test-python: .venv/.installed
	.venv/bin/pytest

lint: .venv/.installed
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache

format: .venv/.installed
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: install train
	.venv/bin/python -m bench.e2e
	$(RASA_ENV) .venv-rasa/bin/python bench/nlu/run.py

# 100 000 due follow-ups swept by two worker processes on PostgreSQL (MARAUDE_TEST_POSTGRES_URL).
bench-scheduler: .venv/.installed
	.venv/bin/python -m bench.scheduler.run

# Simulated young people in webhook mode: 1 engine + 1 worker, 2 + 2, 2 + 2 with an engine
# killed, and the bare engine (MARAUDE_TEST_POSTGRES_URL, MARAUDE_TEST_REDIS_URL; bench/README.md).
bench-load: install train
	.venv/bin/python -m bench.load $(BENCH_LOAD_ARGS)

# The results queries on a seeded year of 10 000 and 100 000 young people: SQLite, and
# PostgreSQL with MARAUDE_TEST_POSTGRES_URL (bench/README.md).
bench-analytics: .venv/.installed
	.venv/bin/python -m bench.analytics.run $(BENCH_ANALYTICS_ARGS)

# The web chat: message round trip against the simulator, a counsellor's answer reaching the
# page live, memory per open stream (echo engine; bench/README.md).
bench-webchat: .venv/.installed
	.venv/bin/python -m bench.webchat $(BENCH_WEBCHAT_ARGS)

clean:
	rm -rf models var/rasa-test-results .pytest_cache .mypy_cache .ruff_cache
