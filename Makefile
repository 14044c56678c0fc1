# Kestrel: `make run` starts the product, `make test` runs every test. Both set up what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
# The LiteLLM gateway the tests run, in a virtualenv of its own so its pins never meet Kestrel's.
GATEWAY_VENV := .venv-gateway
GATEWAY_REQUIREMENTS := tests/support/gateway/requirements.txt
GATEWAY_STAMP := $(GATEWAY_VENV)/.installed

.PHONY: run run-cli test setup lint lint-ts generate pytest screenshots clean bench soak gateway vsix dist

# What running needs: the server's own dependencies (no test tools).
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	$(PY) -m compileall -q server/kestrel_lsp  # an editable install is not byte-compiled
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml $(RUN_STAMP)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

$(GATEWAY_STAMP): $(GATEWAY_REQUIREMENTS)
	$(PYTHON) -m venv $(GATEWAY_VENV)
	$(GATEWAY_VENV)/bin/python -m pip install -q -r $(GATEWAY_REQUIREMENTS)
	touch $(GATEWAY_STAMP)

gateway: $(GATEWAY_STAMP)

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

# The extension's provider table and setting defaults are generated from the server's own;
# lint-ts fails when they drift (`make generate` rewrites them).
generate: $(STAMP)
	$(PY) client-extension/scripts/generate_settings.py

lint-ts: $(STAMP)
	$(PY) client-extension/scripts/generate_settings.py --check
	cd client-extension && npm ci --no-audit --no-fund --loglevel=error && npm run lint && npm test

# Test runs keep their screenshots out of the tree; `make screenshots` refreshes docs/screenshots.
pytest: $(STAMP) $(GATEWAY_STAMP)
	KESTREL_GATEWAY_VENV=$(GATEWAY_VENV) KESTREL_SCREENSHOT_DIR=$${KESTREL_SCREENSHOT_DIR:-build/screenshots} $(VENV)/bin/pytest -q -rs

screenshots: setup
	KESTREL_SCREENSHOT_DIR=docs/screenshots $(VENV)/bin/pytest -q -m vscode

test: setup lint lint-ts pytest

bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/run.py

soak: setup
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) $(GATEWAY_VENV) build *.egg-info
