"""Test doubles for the provider client: a scripted fake of the transport's interface
(`send`, `retire_pool`, `aclose`) that models connections and a pool, and a recording sleep."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.errors import ConnectFailure, TransportError
from kestrel_lsp.provider.transport.http11 import HttpRequest
from kestrel_lsp.provider.transport.pool import TransportFactory
from kestrel_lsp.secrets import SECRETS

CANARY = "sk-canary-5e1f0c9a7b3d2e8f41a6"


@dataclass(frozen=True)
class Reply:
    """A scripted HTTP answer."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def json_reply(status: int, data: Any, **headers: str) -> Reply:
    return Reply(status, {"content-type": "application/json", **headers}, json.dumps(data).encode())


def ok_chat(text: str = "hello") -> Reply:
    return json_reply(200, {"choices": [{"message": {"content": text}}]})


def sse(*events: str) -> Reply:
    body = "".join(f"data: {e}\n\n" for e in events)
    return Reply(200, {"content-type": "text/event-stream"}, body.encode())


def chunk(text: str) -> str:
    return json.dumps({"choices": [{"delta": {"content": text}}]})


def status(code: int, **headers: str) -> Reply:
    return json_reply(code, {"error": {"message": f"status {code}"}}, **headers)


def refused() -> Reply:
    raise ConnectFailure("refused", "connection refused")


class FakeResponse:
    def __init__(self, reply: Reply, on_close: Callable[[bool], None]) -> None:
        self.status = reply.status
        self.headers: Mapping[str, str] = {k.lower(): v for k, v in reply.headers.items()}
        self._body = reply.body
        self._on_close = on_close
        self.closed = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    async def chunks(self, limit: int = 16 << 20) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body

    async def read(self, limit: int = 16 << 20) -> bytes:
        return self._body

    async def read_prefix(self, limit: int = 64 << 10) -> bytes:
        return self._body[:limit]

    async def aclose(self, *, reuse: bool = True) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(reuse)


@dataclass
class Sent:
    """One request as the fake transport received it, and the connection it went out on."""

    request: HttpRequest
    connection: int
    fresh: bool

    @property
    def json(self) -> Any:
        return json.loads(self.request.body)

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers


Step = Callable[[], Reply] | Reply | Exception


@dataclass
class Script:
    """Answers requests in order; `then` answers the rest. Models connections: a request takes
    an idle one unless `fresh`, a response closed with reuse puts its connection back."""

    steps: list[Step]
    then: Callable[[], Reply] = ok_chat
    requests: list[Sent] = field(default_factory=list)
    connections: int = 0  # connections opened
    retired: int = 0  # times the pool was retired
    gate: asyncio.Event | None = None
    hold: dict[int, asyncio.Event] = field(default_factory=dict)  # request index -> its gate
    idle: list[int] = field(default_factory=list)
    _waiters: list[tuple[int, asyncio.Event]] = field(default_factory=list)

    async def wait_for_requests(self, count: int) -> None:
        if len(self.requests) < count:
            event = asyncio.Event()
            self._waiters.append((count, event))
            await event.wait()

    def transport(self) -> FakeTransport:
        return FakeTransport(self)

    def answer(self, index: int) -> Reply:
        step = self.steps[index] if index < len(self.steps) else self.then
        if isinstance(step, Exception):
            raise step
        return step() if callable(step) else step


class FakeTransport:
    def __init__(self, script: Script) -> None:
        self.script = script

    async def send(self, request: HttpRequest, *, fresh: bool = False) -> FakeResponse:
        script = self.script
        if script.idle and not fresh:
            connection = script.idle.pop()
        else:
            script.connections += 1
            connection = script.connections
        script.requests.append(Sent(request, connection, fresh))
        index = len(script.requests) - 1
        for count, event in script._waiters:
            if len(script.requests) >= count:
                event.set()
        if script.gate is not None:
            await script.gate.wait()
        if index in script.hold:
            await script.hold[index].wait()
        retired_at_send = script.retired
        reply = script.answer(index)

        def on_close(reuse: bool) -> None:
            if reuse and script.retired == retired_at_send:
                script.idle.append(connection)

        return FakeResponse(reply, on_close)

    def retire_pool(self) -> None:
        self.script.retired += 1
        self.script.idle.clear()

    async def aclose(self) -> None:
        self.script.idle.clear()


@dataclass
class RecordingSleep:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make_client(
    script: Script,
    *,
    provider: str = "deepseek",
    key: str | None = CANARY,
    auth: AuthTracker | None = None,
    sleep: RecordingSleep | None = None,
    retry: RetrySettings | None = None,
    network: NetworkSettings | None = None,
    base_url: str = "http://sim.kestrel.test/v1",
) -> ProviderClient:
    config = ProviderConfig(
        preset=PRESETS[provider],
        base_url=base_url,
        model="m",
        key=key,
        retry=retry or RetrySettings(),
    )
    factory = TransportFactory(network or NetworkSettings(env={}), script.transport)
    SECRETS.add(key)  # as the session does when it resolves a key
    return ProviderClient(
        config, auth or AuthTracker(), factory, sleep=sleep or RecordingSleep(), rand=lambda: 0.0
    )


def raising(exc: TransportError) -> Callable[[], Reply]:
    def answer() -> Reply:
        raise exc

    return answer
