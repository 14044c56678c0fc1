"""A raw JSON-RPC-over-stdio LSP client: the same few hundred bytes of framing for every server
measured (Kestrel, bare pygls, tabby-agent, copilot-language-server), so no client library's cost
lands on one side only.

Server-to-client requests are answered at once with what an editor would send (`null`, or one
`null` per `workspace/configuration` item unless configured).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import procstat

Json = Any


class ServerGone(Exception):
    """The server closed its output or exited; the message carries its stderr's tail."""


@dataclass
class Answer:
    id: int
    result: Json
    error: Json
    sent: float
    received: float

    @property
    def elapsed(self) -> float:
        return self.received - self.sent

    @property
    def ok(self) -> bool:
        return self.error is None


class LspProcess:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        configuration: Json = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.configuration = configuration
        self.proc: asyncio.subprocess.Process | None = None
        self.spawned_at = 0.0
        self._next_id = 0
        self._pending: dict[int, tuple[float, asyncio.Future[Answer]]] = {}
        self.notifications: list[tuple[float, str, Json]] = []
        self.server_requests: collections.Counter[str] = collections.Counter()
        self._stderr_tail: collections.deque[bytes] = collections.deque(maxlen=40)
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = asyncio.Event()
        self.on_notification: Callable[[str, Json], None] | None = None

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self.spawned_at = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=self.cwd,
            limit=64 * 1024 * 1024,
        )
        self._tasks = [
            asyncio.ensure_future(self._read_stdout()),
            asyncio.ensure_future(self._read_stderr()),
        ]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        return procstat.rss_bytes(self.pid) / 1e6

    def cpu_s(self) -> float:
        return procstat.cpu_seconds(self.pid)

    def stderr_tail(self) -> str:
        text = b"".join(self._stderr_tail).decode("utf-8", "replace").strip()
        return " | ".join(text.splitlines()[-6:])[-600:]

    async def close(self, timeout: float = 5.0) -> None:
        """shutdown + exit, then make sure the process (and its children) are gone."""
        if self.proc is None:
            return
        if self.proc.returncode is None and not self._closed.is_set():
            with contextlib.suppress(Exception):
                await self.request("shutdown", None, timeout=timeout)
            with contextlib.suppress(Exception):
                self.notify("exit", None)
                await self.drain()
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            for member in reversed(procstat.tree(self.proc.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(member, 9)
            await self.proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- sending ---------------------------------------------------------------------------

    def _write(self, message: dict[str, Json]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        if self._closed.is_set():
            raise ServerGone(f"the server has exited: {self.stderr_tail()}")
        body = json.dumps(message, separators=(",", ":")).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def drain(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        await self.proc.stdin.drain()

    def send_request(self, method: str, params: Json) -> tuple[int, asyncio.Future[Answer]]:
        self._next_id += 1
        msg_id = self._next_id
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        message: dict[str, Json] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        sent = time.perf_counter()
        self._pending[msg_id] = (sent, future)
        self._write(message)
        return msg_id, future

    async def request(self, method: str, params: Json, timeout: float = 60.0) -> Answer:
        _id, future = self.send_request(method, params)
        await self.drain()
        return await asyncio.wait_for(future, timeout)

    def notify(self, method: str, params: Json) -> None:
        message: dict[str, Json] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)

    def cancel(self, msg_id: int) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    # -- receiving -------------------------------------------------------------------------

    async def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        try:
            while True:
                length = -1
                while True:
                    line = await stdout.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await stdout.readexactly(length)
                received = time.perf_counter()
                self._dispatch(json.loads(body), received)
        except (EOFError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._closed.set()
            gone = ServerGone(f"the server closed its output: {self.stderr_tail()}")
            for _sent, future in self._pending.values():
                if not future.done():
                    future.set_exception(gone)

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while True:
            chunk = await self.proc.stderr.read(65536)
            if not chunk:
                return
            self._stderr_tail.append(chunk[-4096:])

    def _dispatch(self, message: dict[str, Json], received: float) -> None:
        if "method" in message:
            method = message["method"]
            if "id" in message:
                self.server_requests[method] += 1
                self._answer_server_request(message["id"], method, message.get("params"))
            else:
                self.notifications.append((received, method, message.get("params")))
                if self.on_notification is not None:
                    self.on_notification(method, message.get("params"))
            return
        msg_id = message.get("id")
        if not isinstance(msg_id, int):
            return
        pending = self._pending.pop(msg_id, None)
        if pending is None:
            return
        sent, future = pending
        if not future.done():
            answer = Answer(msg_id, message.get("result"), message.get("error"), sent, received)
            future.set_result(answer)

    def _answer_server_request(self, msg_id: Json, method: str, params: Json) -> None:
        result: Json = None
        if method == "workspace/configuration":
            items = (params or {}).get("items") or []
            result = [self.configuration for _ in items]
        elif method == "workspace/applyEdit":
            result = {"applied": True}
        elif method == "workspace/workspaceFolders":
            result = []
        with contextlib.suppress(ServerGone, AssertionError):
            self._write({"jsonrpc": "2.0", "id": msg_id, "result": result})

    def pending_count(self) -> int:
        return len(self._pending)


# -- common messages ------------------------------------------------------------------------

CLIENT_CAPABILITIES: Json = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": True},
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {"dynamicRegistration": False},
        "codeAction": {
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["", "quickfix", "refactor", "refactor.rewrite"]}
            },
            "resolveSupport": {"properties": ["edit"]},
            "dataSupport": True,
        },
    },
    "workspace": {"configuration": True, "workspaceFolders": True, "applyEdit": True},
    "window": {"workDoneProgress": True},
}


def initialize_params(root: str, initialization_options: Json = None) -> Json:
    return {
        "processId": os.getpid(),
        "clientInfo": {"name": "kestrel-bench", "version": "1.0"},
        "rootUri": f"file://{root}",
        "workspaceFolders": [{"uri": f"file://{root}", "name": "bench"}],
        "capabilities": CLIENT_CAPABILITIES,
        "initializationOptions": initialization_options,
    }


def did_open(uri: str, text: str, language: str = "python", version: int = 1) -> Json:
    return {"textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}}


def insert(uri: str, version: int, line: int, character: int, text: str) -> Json:
    position = {"line": line, "character": character}
    return {
        "textDocument": {"uri": uri, "version": version},
        "contentChanges": [{"range": {"start": position, "end": position}, "text": text}],
    }


def position_params(uri: str, line: int, character: int) -> Json:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def inline_params(uri: str, line: int, character: int) -> Json:
    params = position_params(uri, line, character)
    params["context"] = {"triggerKind": 2}  # Automatic: typing
    return params


UNKNOWN_METHOD = "kestrelBench/unknownMethod"
