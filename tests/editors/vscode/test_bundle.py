"""The .vsix carries the server and its Python libraries: unpack it and run the bundled server
under the oldest supported Python (3.10) with nothing but `bundled/libs` on its path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from . import harness as h

# The first run sets up the toolchain (Node 24, code-server: about 3 minutes) in this module.
pytestmark = [pytest.mark.vscode, pytest.mark.timeout(1800)]


def python310() -> str:
    return str(h.PYTHON310) if h.PYTHON310.exists() else sys.executable


@pytest.fixture(scope="module")
def bundled_libs(toolchain: h.Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("vsix")
    with zipfile.ZipFile(toolchain.vsix) as z:
        names = z.namelist()
        assert "extension/dist/extension.js" in names
        assert "extension/package.json" in names
        assert not any("node_modules/" in n for n in names)
        z.extractall(dest)
    libs = dest / "extension" / "bundled" / "libs"
    assert (libs / "kestrel_lsp" / "__init__.py").exists()
    # exceptiongroup is needed below Python 3.11 (cattrs) and pip leaves it out on 3.11+.
    assert (libs / "exceptiongroup").is_dir()
    return libs


def isolated_env(libs: Path) -> dict[str, str]:
    env = h.clean_env({"PYTHONPATH": str(libs), "PYTHONNOUSERSITE": "1"})
    env.pop("VIRTUAL_ENV", None)
    return env


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def read_message(stream: Any) -> dict[str, Any]:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            raise EOFError("the server closed stdout")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    return dict(json.loads(stream.read(length)))


def test_bundled_server_reports_its_version(bundled_libs: Path) -> None:
    done = subprocess.run(
        [python310(), "-s", "-m", "kestrel_lsp", "--version"],
        env=isolated_env(bundled_libs),
        cwd=bundled_libs.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.1.0"


def test_bundled_server_answers_initialize_on_python310(bundled_libs: Path) -> None:
    key = "sk-kestrel-canary-bundle-0123456789abcdef"
    process = subprocess.Popen(
        [python310(), "-s", "-m", "kestrel_lsp", "--stdio"],
        env=isolated_env(bundled_libs),
        cwd=bundled_libs.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(
            frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "processId": os.getpid(),
                        "rootUri": None,
                        "capabilities": {},
                        "initializationOptions": {"provider": "deepseek", "apiKey": key},
                    },
                }
            )
        )
        process.stdin.flush()
        while True:
            message = read_message(process.stdout)
            if message.get("id") == 1:
                break
        assert "result" in message, message
        capabilities = message["result"]["capabilities"]
        assert capabilities.get("codeActionProvider"), capabilities
        for method, params in (
            ("initialized", {}),
            ("shutdown", None),
        ):
            payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
            if method == "shutdown":
                payload["id"] = 2
            process.stdin.write(frame(payload))
            process.stdin.flush()
        while read_message(process.stdout).get("id") != 2:
            pass
        process.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        process.stdin.flush()
        process.wait(15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    assert key not in stderr
    assert process.returncode == 0, stderr
