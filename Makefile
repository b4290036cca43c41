# One command surface for humans, pre-commit and CI.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps format lint typecheck test test-fast bench run clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all]'
	touch $(STAMP)

## install: system packages (needs root or sudo) and the Python environment
install: system-deps $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy common backend gpu_server telegram_bot infra

## test: installs everything, then lint, types and the whole suite
test: install lint typecheck
	$(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -x -m "not e2e"

bench: $(STAMP)
	$(BIN)/python -m bench

## run: the platform under supervisord; WORKSPACE defaults to ./.workspace here (pods: /workspace)
run:
	WORKSPACE="$${WORKSPACE:-$(CURDIR)/.workspace}" ./startup.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
