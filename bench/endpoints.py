"""The providers the servers talk to during the benchmark, all on 127.0.0.1, in this process.

`BenchEndpoint` is Kestrel's provider simulator plus the few routes a Tabby server answers
(`/v1/health`, `/v1/completions`, ...), so Kestrel and tabby-agent are measured against the same
HTTP code. It records, per provider request, the time from the request's first byte to the
answer's last (the endpoint's own time, subtracted from the per-completion figure).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kestrel_lsp.simulator import SimulatorServer
from kestrel_lsp.simulator.answer import json_answer
from kestrel_lsp.simulator.connection import HttpConnection, IncomingRequest
from kestrel_lsp.simulator.script import JsonValue

TABBY_HEALTH: dict[str, Any] = {
    "model": "bench-model",
    "device": "cpu",
    "arch": "x86_64",
    "cpu_info": "bench",
    "cpu_count": 1,
    "cuda_devices": [],
    "version": {
        "build_date": "2024-01-01",
        "build_timestamp": "2024-01-01T00:00:00Z",
        "git_sha": "0000000",
        "git_describe": "v0.11.0",
    },
}
COMPLETION_TEXT = "value = compute(items)\n"
PROVIDER_PATHS = frozenset(
    {"/v1/completions", "/chat/completions", "/v1/chat/completions", "/beta/completions"}
)


class _TimedReader:
    """The connection's reader, noting when the first bytes of each request arrive."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.request_started: float | None = None

    async def read(self, n: int = -1) -> bytes:
        data = await self._reader.read(n)
        if data and self.request_started is None:
            self.request_started = time.perf_counter()
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class BenchEndpoint(SimulatorServer):
    """The simulator, timed; with `tabby=True` it also speaks enough of Tabby's API."""

    def __init__(self, script: Any = "ok") -> None:
        super().__init__(script)
        self.provider_times: list[float] = []
        self.provider_count = 0
        self.paths: dict[str, int] = {}

    def reset_counts(self) -> None:
        self.provider_times.clear()
        self.provider_count = 0
        self.paths.clear()
        self.clear_requests()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await super()._on_connection(_TimedReader(reader), writer)  # type: ignore[arg-type]

    async def _respond(self, connection: HttpConnection, incoming: IncomingRequest) -> bool:
        # The endpoint's own time runs from the request's first byte to the answer's last.
        reader = connection._reader
        started = getattr(reader, "request_started", None) or time.perf_counter()
        if isinstance(reader, _TimedReader):
            reader.request_started = None
        path = incoming.path
        self.paths[path] = self.paths.get(path, 0) + 1
        if path in PROVIDER_PATHS:
            self.provider_count += 1
        if path == "/v1/health":
            ok = await connection.send(json_answer(200, TABBY_HEALTH))
        elif path == "/v1beta/server_setting":
            ok = await connection.send(json_answer(200, {"disable_client_side_telemetry": True}))
        elif path == "/v1/events":
            ok = await connection.send(json_answer(200, {}))
        elif path == "/v1/completions":
            choice: JsonValue = {"index": 0, "text": COMPLETION_TEXT}
            answer: JsonValue = {"id": f"cmpl-{self.provider_count}", "choices": [choice]}
            ok = await connection.send(json_answer(200, answer))
        else:
            ok = await super()._respond(connection, incoming)
        if path in PROVIDER_PATHS:
            self.provider_times.append(time.perf_counter() - started)
        return ok
