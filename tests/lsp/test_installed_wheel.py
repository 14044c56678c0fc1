"""What a user installs: `python -m build` gives a wheel and an sdist; the wheel, installed into a
fresh venv (Python 3.10 when the machine has it: the oldest supported), serves — its console
script answers `initialize`, and `kestrel-lsp simulate` finds its named scripts. With pipx on the
machine, `pipx install <wheel>` is checked the same way.

Slower than the rest of tests/lsp (a build and a `pip install`, tens of seconds): marked `slow`.
It runs in `make test` like every other test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lsp_wire import encode, frame

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
PYTHON310 = Path("/root/.pyenv/versions/3.10.13/bin/python")
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "server")


def run(command: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def plain_env(**extra: str) -> dict[str, str]:
    """No Kestrel settings or keys, no venv of ours: what a user's shell has."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KESTREL_", "PYTHON", "VIRTUAL_ENV", "PIP_"))
        and not k.endswith("_API_KEY")
    }
    return env | extra


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build` on a copy of the sources (the checkout stays clean)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(
                path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)])
    return out


def initialize(command: list[str], env: dict[str, str]) -> dict:
    """Start the server, send `initialize`, `shutdown`, `exit`; the `initialize` answer."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    done = subprocess.run(
        command,
        input=b"".join(frame(encode(m)) for m in messages),
        capture_output=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    answers = []
    rest = done.stdout
    while rest:
        header, _, rest = rest.partition(b"\r\n\r\n")
        match = re.search(rb"Content-Length: *(\d+)", header, re.IGNORECASE)
        assert match, header
        length = int(match[1])
        answers.append(json.loads(rest[:length]))
        rest = rest[length:]
    return next(a for a in answers if a.get("id") == 1)


def assert_serves(bin_dir: Path, env: dict[str, str]) -> None:
    script = str(bin_dir / "kestrel-lsp")
    assert run([script, "--version"], env=env).strip() == "0.1.0"
    answer = initialize([script], env)
    assert answer["result"]["serverInfo"]["name"] == "kestrel-lsp"
    assert answer["result"]["capabilities"]["codeActionProvider"]
    help_text = run([script, "simulate", "--help"], env=env)
    assert "reject-all" in help_text  # the named scripts are package data of the wheel


def test_build_gives_a_wheel_and_an_sdist(dist: Path) -> None:
    [wheel] = dist.glob("kestrel_lsp-*-py3-none-any.whl")
    [sdist] = dist.glob("kestrel_lsp-*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kestrel_lsp/simulator/scripts/ok.json" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert sdist.stat().st_size > 0


def test_the_wheel_installs_into_a_fresh_venv_and_answers_initialize(
    dist: Path, tmp_path: Path
) -> None:
    [wheel] = dist.glob("*.whl")
    python = str(PYTHON310) if PYTHON310.exists() else sys.executable
    venv = tmp_path / "venv"
    run([python, "-m", "venv", str(venv)])
    env = plain_env()
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], env=env)
    assert_serves(venv / "bin", env)


@pytest.mark.skipif(shutil.which("pipx") is None, reason="pipx is not installed")
def test_pipx_installs_the_wheel(dist: Path, tmp_path: Path) -> None:
    [wheel] = dist.glob("*.whl")
    env = plain_env(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"))
    run(["pipx", "install", str(wheel)], env=env)
    assert_serves(tmp_path / "bin", env)
