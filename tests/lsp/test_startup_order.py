"""The `initialize` answer waits for pygls alone: the session and the features are built on the
first message after it, and the initialization options are applied then, before that message is
handled, whatever the message and even when a message came before `initialize`."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from kestrel_lsp.protocol import KestrelProtocol
from kestrel_lsp.server import KestrelServer, build_server

URI = "file:///work/project/app.py"


class _Writer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data.split(b"\r\n\r\n", 1)[1]))

    def close(self) -> None:
        pass


def _server() -> tuple[KestrelServer, KestrelProtocol, _Writer]:
    server = build_server()
    protocol = server.protocol
    assert isinstance(protocol, KestrelProtocol)
    writer = _Writer()
    protocol.set_writer(writer)
    return server, protocol, writer


def _initialize(options: Any) -> dict[str, Any]:
    params = {"capabilities": {}, "initializationOptions": options}
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}


def _did_open() -> dict[str, Any]:
    document = {"uri": URI, "languageId": "python", "version": 1, "text": "x = 1\n"}
    params = {"textDocument": document}
    return {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": params}


def test_importing_the_server_loads_no_session_settings_or_features() -> None:
    code = "import json, sys, kestrel_lsp.server; print(json.dumps(list(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m for m in json.loads(done.stdout) if m.startswith("kestrel_lsp")}
    assert not loaded & {
        "kestrel_lsp.session",
        "kestrel_lsp.settings",
        "kestrel_lsp.features.notices",
        "kestrel_lsp.features.code_actions",
        "kestrel_lsp.features.completions",
        "kestrel_lsp.provider.presets",
    }, sorted(loaded)


def test_the_options_are_applied_before_the_first_message_after_initialize() -> None:
    server, protocol, writer = _server()
    protocol.handle_message(_initialize({"provider": "ollama"}))
    answer = writer.sent[-1]
    assert answer["id"] == 1 and "capabilities" in answer["result"]
    assert not hasattr(server, "session")  # nothing of Kestrel's own built yet
    protocol.handle_message(_did_open())
    assert server.session.provider == "ollama"
    assert server.editor.name is None and server.documents.get(URI) is not None


def test_a_message_before_initialize_does_not_lose_the_options() -> None:
    server, protocol, _ = _server()
    protocol.handle_message(_did_open())  # a client that does not wait for the handshake
    assert server.session.provider == "deepseek"
    protocol.handle_message(_initialize({"provider": "ollama"}))
    assert server.session.provider == "ollama"
