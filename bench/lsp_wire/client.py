"""One framed JSON-RPC client over a language server's stdio, on asyncio.

It checks nothing and structures nothing: it writes any bytes, well framed or not; keeps every
byte and message that comes back (while `record` is on) and notes each frame it cannot read;
times each answer; and answers the server's own requests as a plain editor would. The bench
drives Kestrel and its peers with it, so no client library's cost lands on one side only; the
tests drive Kestrel with it (through `BlockingClient`) where pytest-lsp would check or structure
what they need to send broken.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from . import procstat
from .framing import FrameError, Json, build_message, encode, frame, header_length, message_key
from .records import (
    Answer,
    MessageCallback,
    Received,
    ServerGone,
    ServerRequestHandler,
    editor_answers,
)

STREAM_LIMIT = 64 * 1024 * 1024  # the longest header line read; bodies are read by length


class LspClient:
    """`await LspClient(argv).start()` spawns the server; `request`, `notify`, `send_raw` talk to
    it; `close()` ends it politely, `kill()` at once.

    Messages the client builds (`send`, `notify`, `send_request`) raise ServerGone once the
    server has closed its output; raw bytes (`send_raw`) are written regardless, since tests
    write to a dying server on purpose. State is changed under `lock`, after which `on_change`
    is called (with the lock held): a thread waiting on a Condition over `lock` wakes up.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        configuration: Json = None,
        answer: ServerRequestHandler | None = None,
        record: bool = True,
        on_message: MessageCallback | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.answer = answer if answer is not None else editor_answers(configuration)
        self.record = record
        self.on_message = on_message
        self.on_change: Callable[[], None] | None = None
        self.lock = threading.RLock()
        self.received = Received()
        self.proc: asyncio.subprocess.Process | None = None
        self.spawned_at = 0.0
        self.bytes_sent = 0
        self.output_closed = False
        self._next_id = 0
        self._responses: dict[tuple[str, str], list[Json]] = {}
        self._server_requests: list[Json] = []
        self._pending: dict[tuple[str, str], tuple[float, asyncio.Future[Answer]]] = {}
        self._readers: list[asyncio.Task[None]] = []

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
            limit=STREAM_LIMIT,
        )
        self._readers = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while the process runs."""
        return None if self.proc is None else self.proc.returncode

    def rss_mb(self) -> float:
        return procstat.rss_bytes(self.pid) / 1e6

    def cpu_s(self) -> float:
        return procstat.cpu_seconds(self.pid)

    def stderr_tail(self) -> str:
        with self.lock:
            text = bytes(self.received.stderr[-16384:]).decode("utf-8", "replace").strip()
        return " | ".join(text.splitlines()[-6:])[-600:]

    def close_stdin(self) -> None:
        stdin = self._stdin()
        if not stdin.is_closing():
            stdin.close()

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit code once the process has ended and its output is read; None if it still
        runs after `timeout` seconds."""
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            return None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._readers), timeout)
        return code

    async def shutdown(self, timeout: float = 20) -> int | None:
        """LSP shutdown + exit; the exit code (None: still running after `timeout`). Raises
        TimeoutError or ServerGone when `shutdown` is not answered."""
        answer = await self.request("shutdown", None, timeout=timeout)
        if not answer.ok:
            raise ServerGone(f"shutdown answered {answer.error}")
        self.notify("exit", None)
        self.close_stdin()
        return await self.wait_exit(timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """shutdown + exit whatever they answer, then make sure the process tree is gone."""
        if self.proc is None:
            return
        if self.proc.returncode is None and not self.output_closed:
            with contextlib.suppress(Exception):
                await self.request("shutdown", None, timeout=timeout)
            with contextlib.suppress(Exception):
                self.notify("exit", None)
                await self.drain()
            with contextlib.suppress(Exception):
                self.close_stdin()
        if await self.wait_exit(timeout) is None:
            await self.kill()

    async def kill(self) -> None:
        """Kill the process and its descendants, and wait until they and the readers are done."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            for member in reversed(procstat.tree(self.proc.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(member, 9)
        await self.proc.wait()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self.proc.stdin is not None:
            self.proc.stdin.close()

    # -- sending ---------------------------------------------------------------------------

    def _stdin(self) -> asyncio.StreamWriter:
        assert self.proc is not None and self.proc.stdin is not None, "start() first"
        return self.proc.stdin

    def send_raw(self, data: bytes) -> None:
        """Queue `data` as it is; `await drain()` waits until the pipe has taken it."""
        self._stdin().write(data)
        self.bytes_sent += len(data)

    async def drain(self) -> None:
        await self._stdin().drain()

    def send(self, message: Json) -> None:
        if self.output_closed:
            raise ServerGone(f"the server has closed its output: {self.stderr_tail()}")
        self.send_raw(frame(encode(message)))

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def notify(self, method: str, params: Json) -> None:
        self.send(build_message(method, params))

    def cancel(self, msg_id: Json) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    def send_request(
        self, method: str, params: Json, msg_id: Json = None
    ) -> tuple[Json, asyncio.Future[Answer]]:
        """Send a request now; its id, and a future for its answer (ServerGone if none can
        come)."""
        msg_id = self.new_id() if msg_id is None else msg_id
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        key = message_key(msg_id)
        with self.lock:
            self._pending[key] = (time.perf_counter(), future)
        try:
            self.send(build_message(method, params, msg_id))
        except BaseException:
            with self.lock:
                self._pending.pop(key, None)
            raise
        return msg_id, future

    async def request(self, method: str, params: Json, timeout: float = 60.0) -> Answer:
        _id, future = self.send_request(method, params)
        await self.drain()
        return await asyncio.wait_for(future, timeout)

    # -- what came back --------------------------------------------------------------------

    def responses(self, msg_id: Json) -> list[Json]:
        """Every response recorded with this id (a well-behaved server sends one)."""
        with self.lock:
            return list(self._responses.get(message_key(msg_id), []))

    def notifications(self, method: str) -> list[Json]:
        """The params of each recorded notification of `method`."""
        with self.lock:
            return [
                m.get("params")
                for m in self.received.messages
                if isinstance(m, dict) and m.get("method") == method and "id" not in m
            ]

    @property
    def server_requests(self) -> list[Json]:
        with self.lock:
            return list(self._server_requests)

    # -- reading ---------------------------------------------------------------------------

    async def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        try:
            while (length := await self._read_headers(stdout)) is not None:
                try:
                    body = await stdout.readexactly(length)
                except asyncio.IncompleteReadError as exc:
                    self._record_output(exc.partial)
                    self._frame_error(f"body cut short: {len(exc.partial)} of {length} bytes")
                    return
                received = time.perf_counter()
                self._record_output(body)
                try:
                    message = json.loads(body)
                except ValueError as exc:
                    self._frame_error(f"body is not JSON: {exc}")
                    continue
                if self.on_message is not None:
                    self.on_message(message, body)
                self._dispatch(message, received)
        finally:
            self._output_ended()

    async def _read_headers(self, stdout: asyncio.StreamReader) -> int | None:
        """The next frame's body length; None at the end of the output."""
        length: int | None = None
        while True:
            try:
                line = await stdout.readline()
            except ValueError:
                self._frame_error(f"a header line longer than {STREAM_LIMIT} bytes")
                return None
            self._record_output(line)
            if not line:
                if length is not None:
                    self._frame_error("stdout ended inside a header")
                return None
            if line == b"\r\n":
                if length is None:
                    self._frame_error("a header without Content-Length")
                    continue
                return length
            try:
                found = header_length(line)
            except FrameError as exc:
                self._frame_error(str(exc))
                continue
            if found is not None:
                length = found

    def _record_output(self, data: bytes) -> None:
        if self.record:
            with self.lock:
                self.received.stdout.extend(data)

    def _frame_error(self, why: str) -> None:
        with self.lock:
            self.received.frame_errors.append(why)
            self._changed()

    def _dispatch(self, message: Json, received: float) -> None:
        is_dict = isinstance(message, dict)
        is_server_request = is_dict and "method" in message and "id" in message
        is_response = is_dict and "method" not in message and "id" in message
        with self.lock:
            if self.record:
                self.received.messages.append(message)
                if is_response:
                    self._responses.setdefault(message_key(message["id"]), []).append(message)
                if is_server_request:
                    self._server_requests.append(message)
            if is_response:
                pending = self._pending.pop(message_key(message["id"]), None)
                if pending is not None and not pending[1].done():
                    pending[1].set_result(Answer(message, pending[0], received))
            self._changed()
        if is_server_request:
            result = self.answer(message["method"], message.get("params"))
            with contextlib.suppress(OSError, ServerGone):
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _output_ended(self) -> None:
        with self.lock:
            self.output_closed = True
            gone = ServerGone(f"the server closed its output: {self.stderr_tail()}")
            for _sent, future in self._pending.values():
                if not future.done():
                    future.set_exception(gone)
            self._pending.clear()
            self._changed()

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            with self.lock:
                self.received.stderr.extend(chunk)
                self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
