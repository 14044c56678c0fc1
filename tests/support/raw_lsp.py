"""A raw, framed LSP client over a server subprocess's stdio: no capability checks, no
structuring, so it can send anything well-framed (or not) and see every byte that comes back.

Used by the fuzzing and broken-frame tests and by `bench/soak.py`. A reader thread splits
stdout into frames and answers the server's own requests (configuration, progress, applyEdit)
the way a plain editor would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SERVER_DIR = ROOT / "server"

Json = Any


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode(message: Json) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without keys, Kestrel settings or proxies, plus the source tree."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith("KESTREL_") and "PROXY" not in k.upper()
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


class FrameError(Exception):
    """The server wrote something that is not a well-formed LSP frame."""


@dataclass
class Received:
    messages: list[Json] = field(default_factory=list)
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    frame_errors: list[str] = field(default_factory=list)


ServerRequestHandler = Callable[[str, Json], Json]
MessageCallback = Callable[[Json, bytes], None]


def default_answer(method: str, params: Json) -> Json:
    """What a plain editor answers to the server's requests."""
    if method == "workspace/configuration":
        return [None for _ in (params or {}).get("items", [])]
    if method == "workspace/applyEdit":
        return {"applied": True}
    return None  # window/workDoneProgress/create, client/registerCapability, ...


class RawServer:
    """`with RawServer(env=...) as srv:` starts `python -m kestrel_lsp` and reads its output."""

    def __init__(
        self,
        *,
        env: dict[str, str] | None = None,
        answer: ServerRequestHandler = default_answer,
        record: bool = True,
        on_message: MessageCallback | None = None,
    ) -> None:
        """`record` (may be switched at any time) keeps stdout's bytes and every message, so
        `wait_response` works; a long soak turns it off and reads `on_message`, which sees each
        message with its body's bytes either way."""
        self._env = clean_env(env)
        self._answer = answer
        self.record = record
        self._on_message = on_message
        self.received = Received()
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._next_id = 0
        self._by_id: dict[Any, list[Json]] = {}
        self._server_requests: list[Json] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self.stdout_closed = threading.Event()
        self.bytes_sent = 0

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> RawServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kestrel_lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            bufsize=0,
        )
        for target in (self._read_stdout, self._read_stderr):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __enter__(self) -> RawServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def close_stdin(self) -> None:
        assert self.process is not None and self.process.stdin is not None
        with self._write_lock:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None if the process is still running after `timeout` seconds."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for thread in self._threads:
            thread.join(timeout)
        return code

    def kill(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(10)

    def shutdown(self, timeout: float = 20) -> int | None:
        """LSP shutdown + exit; returns the exit code (None: still running after `timeout`)."""
        self.request_wait("shutdown", None, timeout=timeout)
        self.notify("exit", None)
        self.close_stdin()
        return self.wait_exit(timeout)

    # -- writing ----------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.process is not None and self.process.stdin is not None
        with self._write_lock:
            self.process.stdin.write(data)
            self.bytes_sent += len(data)

    def send_body(self, body: bytes) -> None:
        self.send_raw(frame(body))

    def send(self, message: Json) -> None:
        self.send_body(encode(message))

    def send_many(self, bodies: Iterable[bytes]) -> None:
        self.send_raw(b"".join(frame(b) for b in bodies))

    def new_id(self) -> int:
        with self._cond:
            self._next_id += 1
            return self._next_id

    def request(self, method: str, params: Json, msg_id: Any = None) -> Any:
        msg_id = self.new_id() if msg_id is None else msg_id
        message: dict[str, Json] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return msg_id

    def notify(self, method: str, params: Json) -> None:
        message: dict[str, Json] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def request_wait(self, method: str, params: Json, timeout: float = 30) -> Json:
        msg_id = self.request(method, params)
        return self.wait_response(msg_id, timeout)

    # -- reading ----------------------------------------------------------------------------

    def responses(self, msg_id: Any) -> list[Json]:
        with self._cond:
            return list(self._by_id.get(_key(msg_id), []))

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stdout_closed.is_set():
                    return predicate()
                self._cond.wait(min(remaining, 1.0))
            return True

    def wait_response(self, msg_id: Any, timeout: float = 30) -> Json:
        key = _key(msg_id)
        if not self.wait_for(lambda: key in self._by_id, timeout):
            raise TimeoutError(f"no answer to request {msg_id!r} within {timeout} s")
        with self._cond:
            return self._by_id[key][0]

    def notifications(self, method: str) -> list[Json]:
        with self._cond:
            return [
                m.get("params")
                for m in self.received.messages
                if isinstance(m, dict) and m.get("method") == method and "id" not in m
            ]

    @property
    def server_requests(self) -> list[Json]:
        with self._cond:
            return list(self._server_requests)

    def _read_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stream = self.process.stdout
        try:
            while True:
                length = self._read_headers(stream)
                if length is None:
                    return
                body = _read_exactly(stream, length)
                if self.record:
                    self.received.stdout.extend(body)
                if len(body) < length:
                    self._frame_error(f"body cut short: {len(body)} of {length} bytes")
                    return
                try:
                    message = json.loads(body)
                except ValueError as exc:
                    self._frame_error(f"body is not JSON: {exc}")
                    continue
                if self._on_message is not None:
                    self._on_message(message, body)
                self._dispatch(message)
        finally:
            self.stdout_closed.set()
            with self._cond:
                self._cond.notify_all()

    def _read_headers(self, stream: Any) -> int | None:
        length: int | None = None
        while True:
            line = stream.readline()
            if self.record:
                self.received.stdout.extend(line)
            if not line:
                if length is not None:
                    self._frame_error("stdout ended inside a header")
                return None
            if line == b"\r\n":
                if length is None:
                    self._frame_error("a header without Content-Length")
                    continue
                return length
            name, _, value = line.decode("ascii", "replace").partition(":")
            if name.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    self._frame_error(f"bad Content-Length {value.strip()!r}")

    def _frame_error(self, why: str) -> None:
        with self._cond:
            self.received.frame_errors.append(why)
            self._cond.notify_all()

    def _dispatch(self, message: Json) -> None:
        is_server_request = isinstance(message, dict) and "method" in message and "id" in message
        with self._cond:
            if self.record:
                self.received.messages.append(message)
                if isinstance(message, dict) and "method" not in message and "id" in message:
                    self._by_id.setdefault(_key(message["id"]), []).append(message)
                if is_server_request:
                    self._server_requests.append(message)
            self._cond.notify_all()
        if is_server_request:
            result = self._answer(message["method"], message.get("params"))
            try:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            except (OSError, ValueError):
                pass  # stdin already closed

    def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while chunk := self.process.stderr.read(65536):
            self.received.stderr.extend(chunk)


def _key(msg_id: Any) -> Any:
    # JSON ids: keep 1 and "1" apart, and make unhashable garbage comparable.
    return (type(msg_id).__name__, json.dumps(msg_id, sort_keys=True))


def _read_exactly(stream: Any, n: int) -> bytes:
    chunks: list[bytes] = []
    remaining = n
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def initialize(
    server: RawServer,
    *,
    init: Json = None,
    capabilities: Json = None,
    timeout: float = 60,
) -> Json:
    """initialize + initialized; returns the initialize result."""
    answer = server.request_wait(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": "file:///work/project",
            "capabilities": capabilities if capabilities is not None else VSCODE_LIKE,
            "initializationOptions": init,
        },
        timeout=timeout,
    )
    server.notify("initialized", {})
    return answer


# A trimmed VS Code-like capability set: resolve support for edits, progress, configuration,
# inline completion.
VSCODE_LIKE: Json = {
    "workspace": {
        "configuration": True,
        "applyEdit": True,
        "workspaceEdit": {"documentChanges": True},
        "didChangeConfiguration": {"dynamicRegistration": True},
    },
    "textDocument": {
        "synchronization": {"didSave": True},
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "refactor"]}},
            "resolveSupport": {"properties": ["edit"]},
            "dataSupport": True,
        },
    },
    "window": {"workDoneProgress": True, "showMessage": {}},
}

# An editor without resolve support (Emacs-like): actions carry a command instead.
PLAIN: Json = {
    "workspace": {"applyEdit": True},
    "textDocument": {"synchronization": {}, "completion": {}, "codeAction": {}},
}
