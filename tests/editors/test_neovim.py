"""A real editor no one here wrote: Debian's Neovim 0.7.2, headless, loads the Neovim snippet of
docs/editors.md, starts `kestrel-lsp`, opens a file and runs an AI code action against the
simulator. The Lua driver writes the buffer, the notices and the statuses to a JSON file."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import CANARY, SAMPLE, server_env
from lsp_steps import CANARIES, MISSING, REJECTED_NEVER_WORKED, assert_docstring_added, key_id

NVIM = shutil.which("nvim")
pytestmark = [
    pytest.mark.neovim,
    pytest.mark.skipif(
        NVIM is None, reason="nvim is not installed (scripts/install-system-deps.sh installs it)"
    ),
]

HERE = Path(__file__).parent
DRIVER = HERE / "nvim" / "drive_code_action.lua"
EDITOR_DOCS = HERE.parents[1] / "docs" / "editors.md"
SNIPPET_MARKER = "<!-- neovim-snippet: tested by tests/editors/test_neovim.py -->"
DOCSTRING = "Kestrel: Add docstring"
ERROR, INFO = 1, 3
SAMPLE_LINES = SAMPLE.rstrip("\n").split("\n")


def readme_snippet() -> str:
    after_marker = EDITOR_DOCS.read_text(encoding="utf-8").split(SNIPPET_MARKER, 1)[1]
    match = re.match(r"\s*```lua\n(.*?)```", after_marker, re.DOTALL)
    assert match, "the Neovim snippet's lua block must follow its marker"
    return match.group(1)


@dataclass
class NeovimRun:
    result: dict[str, Any]
    written: str  # everything Neovim printed and logged, the server's stderr included

    def notices(self) -> list[tuple[int, str]]:
        return [(n["type"], n["message"]) for n in self.result["notices"]]


def prepare(tmp_path: Path, sim_url: str, key: str | None, user_edit: str) -> dict[str, str]:
    """The project, the snippet, a `kestrel-lsp` of this source tree; Neovim's environment."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(SAMPLE, encoding="utf-8")
    config = tmp_path / "kestrel.lua"
    config.write_text(readme_snippet(), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "kestrel-lsp"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kestrel_lsp "$@"\n')
    launcher.chmod(0o755)

    variables = {
        "KESTREL_BASE_URL": sim_url,
        "KESTREL_NVIM_CONFIG": str(config),
        "KESTREL_NVIM_FILE": str(project / "app.py"),
        "KESTREL_NVIM_ACTION": DOCSTRING,
        "KESTREL_NVIM_EDIT": user_edit,
        "KESTREL_NVIM_RESULT": str(tmp_path / "result.json"),
        "HOME": str(tmp_path),
    }
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        variables[f"XDG_{name}_HOME"] = str(tmp_path / name.lower())
    if key is not None:
        variables["DEEPSEEK_API_KEY"] = key
    env = server_env(variables)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def collect(tmp_path: Path, output: bytes) -> NeovimRun:
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert "error" not in result, f"{result['error']} (steps: {result['steps']})"
    logs = [p.read_text("utf-8", "replace") for p in tmp_path.glob("*/nvim/*") if p.is_file()]
    return NeovimRun(result, "\n".join([output.decode("utf-8", "replace"), *logs]))


async def run_neovim(
    tmp_path: Path, sim: SimulatorServer, *, key: str | None, user_edit: str = ""
) -> NeovimRun:
    env = prepare(tmp_path, sim.url, key, user_edit)
    assert NVIM is not None
    process = await asyncio.create_subprocess_exec(
        NVIM,
        "--headless",
        "--clean",
        "-n",
        "-i",
        "NONE",
        "-c",
        f"luafile {DRIVER}",
        cwd=tmp_path / "project",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 90)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("Neovim did not finish within 90 s") from None
    assert process.returncode == 0, output.decode("utf-8", "replace")
    return collect(tmp_path, output)


def assert_no_secret(run: NeovimRun) -> None:
    for canary in CANARIES:
        assert canary not in run.written and canary[-12:] not in run.written


async def test_docstring_action_edits_the_buffer(sim: SimulatorServer, tmp_path: Path) -> None:
    run = await run_neovim(tmp_path, sim, key=CANARY)
    assert_docstring_added(SAMPLE, "\n".join(run.result["lines"]) + "\n")
    assert run.result["resolve"] == {"error": None, "has_edit": True}
    assert DOCSTRING in run.result["offered"]
    assert all(title.startswith("Kestrel: ") for title in run.result["offered"])
    assert run.notices() == []
    assert run.result["statuses"] == ["ok"]
    assert [r["key_id"] for r in sim.requests] == [key_id(CANARY)]
    assert_no_secret(run)


async def test_missing_key(sim: SimulatorServer, tmp_path: Path) -> None:
    run = await run_neovim(tmp_path, sim, key=None)
    assert run.result["lines"] == SAMPLE_LINES
    assert run.result["resolve"] == {"error": None, "has_edit": False}
    # Once after initialized, once for the action.
    assert [(kind, text[: len(MISSING)]) for kind, text in run.notices()] == [(ERROR, MISSING)] * 2
    assert run.result["statuses"] == ["missingKey"]
    assert sim.requests == []


async def test_rejected_key(sim: SimulatorServer, tmp_path: Path) -> None:
    sim.set_script("reject-all")
    run = await run_neovim(tmp_path, sim, key=CANARY)
    assert run.result["lines"] == SAMPLE_LINES
    assert run.result["resolve"] == {"error": None, "has_edit": False}
    assert run.notices() == [(ERROR, REJECTED_NEVER_WORKED)]
    assert run.result["statuses"] == ["ok", "rejectedKey"]
    assert len(sim.requests) == 1
    assert_no_secret(run)


async def test_nothing_lost_when_the_user_types_while_the_ai_works(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    sim.set_script({"steps": [{"delay_ms": 2000}]})
    typed = "# typed while the AI was working"
    run = await run_neovim(tmp_path, sim, key=CANARY, user_edit=typed)
    assert "the user edited the buffer" in run.result["steps"]
    assert run.result["lines"] == [typed, *SAMPLE_LINES]
    assert run.result["resolve"] == {"error": None, "has_edit": False}
    changed = "Kestrel: app.py changed while the AI was working, so nothing was applied."
    assert [(kind, text[: len(changed)]) for kind, text in run.notices()] == [(INFO, changed)]
    assert len(sim.requests) == 1
    assert_no_secret(run)
