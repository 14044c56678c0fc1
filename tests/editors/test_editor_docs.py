"""The editor snippets of docs/editors.md parse, and say what the server expects. (The
Neovim snippet runs for real in test_neovim.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

EDITOR_DOCS = Path(__file__).resolve().parents[2] / "docs" / "editors.md"


def blocks(language: str) -> list[str]:
    text = EDITOR_DOCS.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def test_helix_config_is_sent_wrapped_so_configuration_lookups_find_it() -> None:
    tomllib = pytest.importorskip("tomllib")
    [toml] = blocks("toml")
    config = tomllib.loads(toml)
    server = config["language-server"]["kestrel"]
    assert server["command"] == "kestrel-lsp" and server["args"] == ["--stdio"]
    # Helix sends `config` as initializationOptions and answers workspace/configuration for
    # section "kestrel" with config["kestrel"]: both are the settings object.
    settings = {"provider": "deepseek", "completion": {"debounceMs": 150}}
    assert server["config"]["kestrel"] == settings
    [python] = config["language"]
    assert "kestrel" in python["language-servers"]


@pytest.mark.skipif(shutil.which("emacs") is None, reason="emacs is not installed")
def test_eglot_snippets_evaluate_to_server_program_entries(tmp_path: Path) -> None:
    elisp = blocks("elisp")
    assert len(elisp) == 2
    snippets = tmp_path / "kestrel-eglot.el"
    snippets.write_text("\n".join(elisp), encoding="utf-8")
    # Without eglot installed: an empty eglot-server-programs, and the feature marked loaded so
    # with-eval-after-load runs the snippets now. `prin1` shows what eglot would read.
    program = (
        "(progn (defvar eglot-server-programs nil) (defvar eglot-workspace-configuration nil)"
        " (provide 'eglot) (require 'auth-source) (setq auth-sources nil)"
        f' (load "{snippets}" nil t)'
        " (prin1 (list eglot-server-programs (default-value 'eglot-workspace-configuration))))"
    )
    done = subprocess.run(
        ["emacs", "--batch", "-Q", "--eval", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    printed = done.stdout
    # The second snippet's entry (added last, so first): no key found, so :apiKey nil.
    assert printed.startswith(
        '((((python-mode python-ts-mode) "kestrel-lsp" :initializationOptions'
        ' (:provider "deepseek" :apiKey nil))'
    ), printed
    assert (
        "((python-mode python-ts-mode js-mode typescript-ts-mode go-mode rust-mode)"
        ' "kestrel-lsp" :initializationOptions (:provider "deepseek" :completion'
        " (:debounceMs 150)))" in printed
    )
    assert printed.endswith("(:kestrel (:completion (:enabled t))))")
