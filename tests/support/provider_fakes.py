"""Test doubles for the provider client: a scripted MockTransport and a recording sleep."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.http import HttpClientFactory, NetworkSettings
from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import PRESETS

CANARY = "sk-canary-5e1f0c9a7b3d2e8f41a6"


def ok_chat(text: str = "hello") -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"content": text}}]})


def sse(*events: str) -> httpx.Response:
    body = "".join(f"data: {e}\n\n" for e in events)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)


def chunk(text: str) -> str:
    return json.dumps({"choices": [{"delta": {"content": text}}]})


def refused() -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused")


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, headers=headers, json={"error": {"message": f"status {code}"}})


@dataclass
class Script:
    """Answers requests in order; `then` answers the rest. Counts connections (clients)."""

    steps: list[Callable[[], httpx.Response] | httpx.Response | Exception]
    then: Callable[[], httpx.Response] = ok_chat
    requests: list[httpx.Request] = field(default_factory=list)
    clients: int = 0
    gate: asyncio.Event | None = None
    _waiters: list[tuple[int, asyncio.Event]] = field(default_factory=list)

    async def wait_for_requests(self, count: int) -> None:
        if len(self.requests) < count:
            event = asyncio.Event()
            self._waiters.append((count, event))
            await event.wait()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = len(self.requests) - 1
        for count, event in self._waiters:
            if len(self.requests) >= count:
                event.set()
        if self.gate is not None:
            await self.gate.wait()
        step = self.steps[index] if index < len(self.steps) else self.then
        if isinstance(step, Exception):
            raise step
        return step() if callable(step) else step

    def transport(self) -> httpx.AsyncBaseTransport:
        self.clients += 1
        return httpx.MockTransport(self.handle)


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
) -> ProviderClient:
    preset = PRESETS[provider]
    config = ProviderConfig(
        preset=preset,
        base_url="http://sim.kestrel.test/v1",
        model="m",
        key=key,
        retry=retry or RetrySettings(),
    )
    factory = HttpClientFactory(NetworkSettings(env={}), transport_factory=script.transport)
    return ProviderClient(
        config, auth or AuthTracker(), factory, sleep=sleep or RecordingSleep(), rand=lambda: 0.0
    )
