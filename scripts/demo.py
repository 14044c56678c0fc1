"""A terminal demo: the simulator as provider, kestrel-lsp over stdio, one AI code action.

Shows the three things a user meets: the missing-key notice, an AI edit, and a transient 401
burst on a known-good key that is retried invisibly (and a never-worked key that is not).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "def add(a, b):\n    return a + b\n"
URI = "file:///demo/app.py"


class Lsp:
    """A minimal LSP client over a subprocess's stdio, enough for the demo."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kestrel_lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.next_id = 0
        self.notices: list[str] = []

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = 0
        while line := self.proc.stdout.readline().strip():
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return dict(json.loads(self.proc.stdout.read(length)))

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            message = self.read()
            if message.get("method") == "window/showMessage":
                self.notices.append(message["params"]["message"])
                print(f"  [notice] {message['params']['message']}")
            elif "id" in message and "method" in message:  # a request from the server
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif message.get("id") == self.next_id:
                return message.get("result", message.get("error"))

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def close(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=10)


@contextmanager
def simulator() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kestrel_lsp", "simulate", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().split()[-1]
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def post_script(url: str, script: dict[str, Any]) -> None:
    import urllib.request

    body = json.dumps(script).encode()
    request = urllib.request.Request(url + "/_sim/script", data=body, method="POST")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5):
        pass


def session(url: str, key: str | None) -> Lsp:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(ROOT / "server")
    lsp = Lsp(env)
    init = {"provider": "deepseek", "baseUrl": url, "retry": {"initialDelayMs": 100}}
    if key:
        init["apiKey"] = key
    lsp.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": None,
            "capabilities": {
                "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}
            },
            "initializationOptions": init,
        },
    )
    lsp.notify("initialized", {})
    lsp.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": SAMPLE}},
    )
    return lsp


def docstring_action(lsp: Lsp) -> str | None:
    actions = lsp.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": URI},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []},
        },
    )
    action = next(a for a in actions if a["kind"] == "refactor.rewrite.kestrel.docstring")
    resolved = lsp.request("codeAction/resolve", action)
    edit = resolved.get("edit")
    if not edit:
        return None
    return str(edit["documentChanges"][0]["edits"][0]["newText"])


def main() -> None:
    with simulator() as (url, _):
        print(f"Provider simulator: {url}\n")
        print("1. No API key:")
        lsp = session(url, None)
        docstring_action(lsp)
        lsp.close()

        print("\n2. A key, and 'Kestrel: Add docstring':")
        lsp = session(url, "sk-demo-key-0000")
        print(
            "  [edit]\n"
            + "\n".join("    " + line for line in (docstring_action(lsp) or "").splitlines())
        )
        print("\n3. The same (now known-good) key, the gateway answers two transient 401s:")
        post_script(url, {"steps": [401, 401], "then": {"status": 200}})
        print(f"  [edit applied: {bool(docstring_action(lsp))}]")
        lsp.close()

        print("\n4. A key that never worked, the gateway rejects it:")
        post_script(url, {"name": "reject-all"})
        lsp = session(url, "sk-wrong-key-0000")
        docstring_action(lsp)
        lsp.close()
    print("\nThe same in VS Code: make run")


if __name__ == "__main__":
    main()
