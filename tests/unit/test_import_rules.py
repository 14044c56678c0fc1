"""The import rules (docs/design.md) as import-linter's contracts in pyproject.toml: the provider
client imports nothing of the features, session, settings, server or protocol; the features
nothing of the server or protocol; the simulator nothing of the server, features or session;
and imports point one way, server -> features -> session -> provider."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = 4


def lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's command line, reading the contracts in this repository's pyproject.toml
    and finding `kestrel_lsp` under `pythonpath` first."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
            "--no-logo",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(pythonpath)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_code_keeps_every_import_rule() -> None:
    done = lint_imports(ROOT, ROOT / "server")
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in done.stdout


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def test_a_provider_module_importing_settings_breaks_its_contract_and_the_layers(
    tmp_path: Path,
) -> None:
    """The contracts can fail: the same configuration over a package laid out like Kestrel's,
    whose provider client imports the settings (forbidden) and the session (a layer above)."""
    write_files(
        tmp_path / "kestrel_lsp",
        {
            "__init__.py": "",
            "provider/__init__.py": "",
            "provider/client.py": "import kestrel_lsp.settings\nimport kestrel_lsp.session\n",
            "features/__init__.py": "import kestrel_lsp.session\n",
            "simulator/__init__.py": "",
            "session.py": "import kestrel_lsp.provider\n",
            "settings.py": "",
            "server.py": "import kestrel_lsp.features\n",
            "protocol.py": "",
        },
    )
    done = lint_imports(tmp_path, tmp_path)
    print(done.stdout)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Contracts: {CONTRACTS - 2} kept, 2 broken." in done.stdout
    assert "kestrel_lsp.provider.client -> kestrel_lsp.settings" in done.stdout
    assert "kestrel_lsp.provider.client -> kestrel_lsp.session" in done.stdout
