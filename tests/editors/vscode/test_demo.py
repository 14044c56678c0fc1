"""`make run`'s demo, driven as a newcomer meets it: `scripts/demo-vscode.py` itself starts the
simulator and code-server with its own profile and settings; in headless Chromium the sample
file is opened and Ctrl+. → "Kestrel: Add docstring" adds a docstring with no key typed. Then
the sample project's README is followed to the missing-key and rejected-key notices.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from . import harness as h

pytestmark = [pytest.mark.vscode, pytest.mark.timeout(900)]

DEMO = h.REPO / "scripts" / "demo-vscode.py"
SAMPLE = "inventory.py"
FUNCTION_LINE = 13  # `def total_value(items):`


@dataclass
class Demo:
    url: str
    simulator_url: str
    project: Path
    output: list[str]


def _read_lines(process: subprocess.Popen[str], lines: list[str], ready: threading.Event) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if "/?folder=" in line:
            ready.set()
    ready.set()


@contextlib.contextmanager
def running_demo(toolchain: h.Toolchain, demo_dir: Path) -> Iterator[Demo]:
    """The demo as `make run` starts it (a free port; the .vsix the session built)."""
    env = h.clean_env({"KESTREL_DEMO_DIR": str(demo_dir)})
    if os.environ.get("KESTREL_CACHE"):
        env["KESTREL_CACHE"] = os.environ["KESTREL_CACHE"]
    process = subprocess.Popen(
        [sys.executable, str(DEMO), "--port", "0", "--vsix", str(toolchain.vsix)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()
    threading.Thread(target=_read_lines, args=(process, lines, ready), daemon=True).start()
    try:
        ready.wait(300)
        url = next((line.strip() for line in lines if "/?folder=" in line), None)
        assert url, "the demo printed no URL:\n" + "\n".join(lines)
        simulator = next(
            re.search(r"provider simulator at (\S+)", line)
            for line in lines
            if "simulator at" in line
        )
        assert simulator is not None
        yield Demo(url, simulator.group(1), Path(url.split("?folder=", 1)[1]), lines)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the demo stops its children itself
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def sim_post(simulator_url: str, path: str, body: object) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        simulator_url + path, data=json.dumps(body).encode(), method="POST"
    )
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def sim_requests(simulator_url: str) -> list[dict[str, Any]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(simulator_url + "/_sim/requests", timeout=10) as response:
        return list(json.loads(response.read())["requests"])


def add_docstring(wb: h.Workbench, shot: str | None = None) -> None:
    wb.open_file(SAMPLE)
    wb.go_to_line(FUNCTION_LINE)
    rows = wb.open_quick_fix()
    assert any(r.startswith("Kestrel: Add docstring") for r in rows), rows
    if shot:
        wb.screenshot(shot)
    wb.choose_code_action("Kestrel: Add docstring")


def docstring_of(text: str, function: str) -> str | None:
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    return ast.get_docstring(node)


def test_make_run_demo_adds_a_docstring_with_no_key_typed(
    toolchain: h.Toolchain, browser: Any, tmp_path: Path
) -> None:
    with running_demo(toolchain, tmp_path / "demo") as demo:
        sample = demo.project / SAMPLE
        original = sample.read_text()
        readme = (demo.project / "README.md").read_text()
        assert demo.simulator_url in readme and "{{" not in readme  # the URL filled in

        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            wb = h.Workbench(page)
            wb.open(demo.url)
            # Ready, with no key typed: the status bar shows the ok state, not "set API key".
            h.wait_until(lambda: wb.status_item() == "Kestrel", 120, "the server's ok state")

            # The first action: no key typed anywhere.
            add_docstring(wb, shot="demo-1-quick-fix-menu.png")

            def saved_with_docstring() -> str | None:
                wb.save()
                time.sleep(0.5)
                text = sample.read_text()
                return text if text != original else None

            edited = h.wait_until(saved_with_docstring, 90, "the docstring to reach the file", 1.0)
            docstring = docstring_of(edited, "total_value")
            assert docstring, edited
            assert "Args:" in docstring and "items" in docstring
            assert docstring_of(edited, "restock") is None  # only the chosen function changed
            assert not [t for t in wb.toasts() if "Kestrel:" in t.message], wb.toasts()
            requests = sim_requests(demo.simulator_url)
            assert requests and {r["auth_scheme"] for r in requests} == {"bearer"}  # demo key
            assert {r["status"] for r in requests} == {200}
            wb.go_to_line(FUNCTION_LINE)
            wb.screenshot("demo-2-docstring-added.png")

            # The sample README's missing-key recipe: Clear API Key, then the action again.
            wb.run_command("Kestrel: Clear API Key")
            wb.wait_toast("Kestrel: API key for openai-compatible cleared.", 30)
            wb.clear_toasts()
            add_docstring(wb)
            missing = wb.wait_toast("Kestrel: API key is missing or unset for openai-compatible.")
            assert missing.severity == "error" and "Set API Key" in missing.buttons
            assert "Set API Key" in missing.message  # VS Code's own way to set one

            # Its rejected-key recipe: the simulator's reject-all script, a fresh key.
            wb.clear_toasts()
            sim_post(demo.simulator_url, "/_sim/script", {"name": "reject-all"})
            wb.set_api_key("a-key-that-never-worked")
            add_docstring(wb)
            rejected = wb.wait_toast("Kestrel: openai-compatible rejected your API key (HTTP 401).")
            assert "Check that the key is correct and active." in rejected.message
            assert len([r for r in sim_requests(demo.simulator_url) if r["status"] == 401]) == 1
        finally:
            context.close()
    assert any("with a demo key" in line for line in demo.output), demo.output
