# Kestrel: `make run` starts the product, `make test` runs every test. Both set up what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup lint pytest clean bench soak

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)
	bash scripts/install-system-deps.sh

run: setup
	$(PY) scripts/demo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(VENV)/bin/pytest -q -rs

test: setup lint pytest

bench: setup
	$(PY) bench/run.py

soak: setup
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) build *.egg-info
