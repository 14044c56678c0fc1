"""`LspClient` for synchronous code: the hypothesis state machines, plain pytest functions and the
soak. The client runs on an event loop in a thread of its own; each call here waits for its
effect (a send until the pipe has taken the bytes), and `wait_for` sleeps on a Condition that
the reader wakes at every message.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from typing_extensions import Self

from .client import LspClient
from .framing import Json, build_message, encode, frame
from .records import MessageCallback, Received, ServerRequestHandler, default_answer

T = TypeVar("T")


class BlockingClient:
    """`with BlockingClient(argv) as server:` spawns the server and reads its output; leaving
    the block kills it."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        answer: ServerRequestHandler = default_answer,
        record: bool = True,
        on_message: MessageCallback | None = None,
    ) -> None:
        """`record` (may be switched at any time) keeps stdout's bytes and every message, so
        `wait_response` works; a long soak turns it off and reads `on_message`."""
        self.client = LspClient(
            argv, env=env, cwd=cwd, answer=answer, record=record, on_message=on_message
        )
        self._cond = threading.Condition(self.client.lock)
        self.client.on_change = self._cond.notify_all
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lsp-wire", daemon=True)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _call(self, function: Callable[[], T]) -> T:
        async def call() -> T:
            return function()

        return self._run(call())

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        try:
            self._run(self.client.start())
        except BaseException:
            self.kill()
            raise
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

    @property
    def pid(self) -> int:
        return self.client.pid

    @property
    def returncode(self) -> int | None:
        return self.client.returncode

    def close_stdin(self) -> None:
        self._call(self.client.close_stdin)

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None if the process is still running after `timeout` seconds."""
        return self._run(self.client.wait_exit(timeout))

    def shutdown(self, timeout: float = 20) -> int | None:
        """LSP shutdown + exit; the exit code (None: still running after `timeout`)."""
        return self._run(self.client.shutdown(timeout))

    def kill(self) -> None:
        """Kill the server (if it runs) and stop the client's thread; safe to call twice."""
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            self._run(self.client.kill())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    # -- writing ---------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        async def write() -> None:
            self.client.send_raw(data)
            await self.client.drain()

        self._run(write())

    def send_body(self, body: bytes) -> None:
        self.send_raw(frame(body))

    def send(self, message: Json) -> None:
        self.send_body(encode(message))

    def send_many(self, bodies: Iterable[bytes]) -> None:
        self.send_raw(b"".join(frame(b) for b in bodies))

    def new_id(self) -> int:
        return self.client.new_id()

    def request(self, method: str, params: Json, msg_id: Json = None) -> Json:
        """Send a request; its id (`wait_response` waits for the answer)."""
        msg_id = self.new_id() if msg_id is None else msg_id
        self.send(build_message(method, params, msg_id))
        return msg_id

    def notify(self, method: str, params: Json) -> None:
        self.send(build_message(method, params))

    def request_wait(self, method: str, params: Json, timeout: float = 30) -> Json:
        return self.wait_response(self.request(method, params), timeout)

    # -- reading ---------------------------------------------------------------------------

    @property
    def received(self) -> Received:
        return self.client.received

    @property
    def record(self) -> bool:
        return self.client.record

    @record.setter
    def record(self, on: bool) -> None:
        self.client.record = on

    @property
    def bytes_sent(self) -> int:
        return self.client.bytes_sent

    @property
    def server_requests(self) -> list[Json]:
        return self.client.server_requests

    def responses(self, msg_id: Json) -> list[Json]:
        return self.client.responses(msg_id)

    def notifications(self, method: str) -> list[Json]:
        return self.client.notifications(method)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Whether `predicate` came true within `timeout` seconds (checked at every message;
        False at once when the server has closed its output and it is still false)."""
        with self._cond:
            return (
                self._cond.wait_for(lambda: predicate() or self.client.output_closed, timeout)
                and predicate()
            )

    def wait_response(self, msg_id: Json, timeout: float = 30) -> Json:
        if not self.wait_for(lambda: bool(self.responses(msg_id)), timeout):
            raise TimeoutError(f"no answer to request {msg_id!r} within {timeout} s")
        return self.responses(msg_id)[0]
