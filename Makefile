# Kestrel: `make run` starts the product, `make test` runs every test. Both set up what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run run-cli test setup lint lint-ts pytest screenshots clean bench soak vsix dist

# What running needs: the server's own dependencies (no test tools).
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml $(RUN_STAMP)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# What the tests need beyond that: Neovim, Emacs, Chromium (apt), Node 24 and code-server.
setup: $(STAMP)
	bash scripts/install-system-deps.sh
	KESTREL_SKIP_VSIX=1 bash scripts/vscode-setup.sh >/dev/null

# VS Code (code-server) on 127.0.0.1 with the extension installed and the simulator as provider.
# The demo installs Node 24 and code-server into ~/.cache/kestrel once. SCRIPT=reject-all etc.
# picks the simulator's script.
run: $(RUN_STAMP)
	$(PY) scripts/demo-vscode.py $(if $(SCRIPT),--script $(SCRIPT))

# The same story in a terminal, no browser needed.
run-cli: $(RUN_STAMP)
	$(PY) scripts/demo.py

# The VS Code extension, for `code --install-extension client-extension/kestrel-<version>.vsix`.
vsix: $(RUN_STAMP)
	bash scripts/build-vsix.sh

# A wheel and an sdist in dist/, for `pipx install dist/kestrel_lsp-*.whl`.
dist: $(STAMP)
	$(PY) -m build --outdir dist .

lint: $(STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy

lint-ts:
	cd client-extension && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test

# Test runs keep their screenshots out of the tree; `make screenshots` refreshes docs/screenshots.
pytest: $(STAMP)
	KESTREL_SCREENSHOT_DIR=$${KESTREL_SCREENSHOT_DIR:-build/screenshots} $(VENV)/bin/pytest -q -rs

screenshots: setup
	KESTREL_SCREENSHOT_DIR=docs/screenshots $(VENV)/bin/pytest -q -m vscode

test: setup lint lint-ts pytest

bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/run.py

soak: setup
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) build *.egg-info
