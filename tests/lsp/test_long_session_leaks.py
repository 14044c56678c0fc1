"""What the soak found: state that grew with every keystroke or every auth recovery.

- pygls files a Future under a fresh uuid for every notification handled by a generator or
  async handler (Kestrel's didOpen/didChange/didClose, initialized, didChangeConfiguration)
  and never removes it: about 1 KB per keystroke, for the life of the session.
- After a shared auth recovery the provider client retired the pooled HTTP client that got the
  401 but never closed it: one open socket per recovery, for the life of the session.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from kestrel_lsp.protocol import KestrelProtocol
from kestrel_lsp.server import build_server
from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import editor
from lsp_steps import DOCSTRING, deepseek_at

URI = "file:///work/project/app.py"


class _Writer:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


def _notify(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


async def test_notifications_leave_no_future_behind() -> None:
    server = build_server()
    protocol = server.protocol
    assert isinstance(protocol, KestrelProtocol)
    protocol.set_writer(_Writer())
    protocol.handle_message(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"capabilities": {}, "initializationOptions": {"provider": "ollama"}},
        }
    )
    messages = [
        _notify("initialized", {}),
        _notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": "x\n"}},
        ),
    ]
    for version in range(2, 202):  # 200 keystrokes
        position = {"line": 0, "character": 0}
        messages.append(
            _notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [
                        {"range": {"start": position, "end": position}, "text": "a"}
                    ],
                },
            )
        )
    messages.append(_notify("workspace/didChangeConfiguration", {"settings": {"kestrel": {}}}))
    # A request whose built-in handler steps into Kestrel's command handler.
    messages.append(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "workspace/executeCommand",
            "params": {"command": "kestrel.applyAction", "arguments": [{"x": 1}]},
        }
    )
    messages.append(_notify("textDocument/didClose", {"textDocument": {"uri": URI}}))
    for message in messages:
        protocol.handle_message(message)
    # Let the async handlers (initialized, didChangeConfiguration) finish: await their futures.
    pending = [
        asyncio.wrap_future(f) if not isinstance(f, asyncio.Future) else f
        for f in list(protocol._request_futures.values())
    ]
    await asyncio.gather(*pending, return_exceptions=True)
    assert len(protocol._request_futures) == 0, (
        f"{len(protocol._request_futures)} futures kept after {len(messages)} messages"
    )


def _sockets(pid: int) -> int:
    fd_dir = f"/proc/{pid}/fd"
    return sum(1 for fd in os.listdir(fd_dir) if "socket" in _readlink(f"{fd_dir}/{fd}"))


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


async def test_auth_recoveries_do_not_keep_sockets_open() -> None:
    async with SimulatorServer("ok") as sim, editor(init=deepseek_at(sim.url)) as ed:
        process = ed.client._server
        assert process is not None
        ed.open()
        assert (await ed.resolve(await ed.action(DOCSTRING))).edit is not None  # known-good
        before = _sockets(process.pid)
        sim.set_script({"steps": [401, 200], "then": "cycle"})  # each action: 401, then 200
        for _ in range(12):
            resolved = await ed.resolve(await ed.action(DOCSTRING))
            assert resolved.edit is not None
        statuses = [r["status"] for r in sim.requests]
        assert statuses == [401, 200] * 12  # 12 recoveries, each on a new connection
        await ed.roundtrip()
        after = _sockets(process.pid)
        # The pool that got each 401 is retired and closed: at most the current pool's
        # connection and the recovery's are open, never one per recovery.
        assert after - before <= 2, f"{after - before} more sockets after 12 recoveries"
