"""The simulator's HTTP server: routes provider requests through the script, keeps the
key-free request log, and answers the `/_sim/` control endpoints."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import ssl
import time
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import TypeAlias, TypedDict, cast

import h11
from typing_extensions import Self

from kestrel_lsp.simulator.answer import (
    Answer,
    ProviderRequest,
    error_answer,
    json_answer,
    log_status,
    plan_answer,
)
from kestrel_lsp.simulator.connection import BodyTooLarge, HttpConnection, IncomingRequest
from kestrel_lsp.simulator.script import (
    JsonValue,
    Script,
    ScriptError,
    ScriptPlayer,
    coerce_script,
)
from kestrel_lsp.simulator.wire import WIRE_BY_PATH, Wire

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sim-model"
ScriptLike: TypeAlias = Script | str | Mapping[str, object]


class RequestRecord(TypedDict):
    n: int
    method: str
    path: str
    stream: bool
    model: str | None
    auth_scheme: str
    key_id: str | None
    anthropic_version: str | None
    user_agent: str | None
    # The request's parameters: its body without the conversation (messages, system, prompt,
    # suffix), so a test can check the token limit, temperature and thinking switch sent.
    params: dict[str, JsonValue]
    status: int | str
    fault: str | None
    peer_port: int
    t: float


def read_key(headers: Mapping[str, str]) -> tuple[str, str | None]:
    """(auth scheme, key) from `Authorization: Bearer`, `api-key` or `x-api-key`, first found."""
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer " and authorization[7:].strip():
        return "bearer", authorization[7:].strip()
    for name in ("api-key", "x-api-key"):
        value = headers.get(name, "").strip()
        if value:
            return name, value
    return "none", None


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


class SimulatorServer:
    """An LLM provider on 127.0.0.1 that plays a fault script.

    `async with SimulatorServer(script="mimo-flaky") as sim:` then point a client at `sim.url`;
    `sim.requests` is the live request log.
    """

    def __init__(
        self,
        script: ScriptLike = "ok",
        *,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._player = ScriptPlayer(coerce_script(script))
        self._requested_port = port
        self._ssl_context = ssl_context
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.requests: list[RequestRecord] = []
        self.port = 0
        self._arrivals = 0  # provider requests received, counted before any delay

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def script(self) -> Script:
        return self._player.script

    def set_script(self, script: ScriptLike) -> None:
        """Replace the script, restart its steps and clear the request log."""
        self._player = ScriptPlayer(coerce_script(script))
        self.clear_requests()

    def clear_requests(self) -> None:
        self.requests.clear()
        self._arrivals = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection,
            "127.0.0.1",
            self._requested_port,
            ssl=self._ssl_context,
            backlog=1024,
            reuse_address=True,  # a restarted simulator gets its port back despite TIME_WAIT
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        connection = HttpConnection(reader, writer)
        try:
            while True:
                incoming = await connection.read_request()
                if incoming is None or not await self._respond(connection, incoming):
                    break
        except (h11.RemoteProtocolError, BodyTooLarge):
            await connection.send_bad_request()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except Exception as exc:
            # Only the exception's type and frames: its message could quote request bytes.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("simulator: internal error %s\n%s", type(exc).__name__, frames)
        finally:
            await connection.close()
            self._connections.discard(task)

    async def _respond(self, connection: HttpConnection, incoming: IncomingRequest) -> bool:
        if incoming.path.startswith("/_sim/"):
            return await connection.send(self._control(incoming))
        self._arrivals += 1
        if self._arrivals in self.script.late_arrivals:
            await asyncio.sleep(self.script.late_ms / 1000)
        answer, delay_s = self._provider_answer(incoming, connection.peer_port)
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        return await connection.send(answer)

    def _provider_answer(self, incoming: IncomingRequest, peer_port: int) -> tuple[Answer, float]:
        """The planned answer and its delay; logs the request."""
        request_wire = WIRE_BY_PATH.get(incoming.path, Wire.CHAT)
        body = _json_object(incoming.body)
        model = body.get("model") if body is not None else None
        scheme, key = read_key(incoming.headers)
        record = RequestRecord(
            n=len(self.requests) + 1,
            method=incoming.method,
            path=incoming.path,
            stream=body is not None and body.get("stream") is True,
            model=model if isinstance(model, str) else None,
            auth_scheme=scheme,
            key_id=None if key is None else key_id(key),
            anthropic_version=incoming.headers.get("anthropic-version"),
            user_agent=incoming.headers.get("user-agent"),
            params=_parameters(body),
            status=0,
            fault=None,
            peer_port=peer_port,
            t=time.monotonic(),
        )
        script = self._player.script
        delay_s = script.latency_ms / 1000
        answer: Answer
        if incoming.path not in WIRE_BY_PATH:
            answer = error_answer(request_wire, 404, f"Unknown path {incoming.path}")
        elif incoming.method != "POST":
            answer = error_answer(request_wire, 405, f"Use POST for {incoming.path}")
        elif body is None:
            answer = error_answer(request_wire, 400, "The request body is not a JSON object")
        elif key is None and script.require_key:
            answer = error_answer(request_wire, 401, "Authentication failed: no API key provided")
        elif key is not None and script.accept_keys is not None and key not in script.accept_keys:
            answer = error_answer(request_wire, 401)
        else:
            step = self._player.next_step()
            request = ProviderRequest(
                wire=request_wire,
                n=record["n"],
                body=body,
                stream=record["stream"],
                model=record["model"] or DEFAULT_MODEL,
                prompt_chars=len(incoming.body),
            )
            answer = plan_answer(request, step, script)
            record["fault"] = step.fault
            if step.fault != "stall":
                delay_s += step.delay_ms / 1000
        record["status"] = log_status(answer)
        self.requests.append(record)
        return answer, delay_s

    def _control(self, incoming: IncomingRequest) -> Answer:
        route = (incoming.method, incoming.path)
        if route == ("GET", "/_sim/requests"):
            log = cast(list[JsonValue], list(self.requests))
            return json_answer(200, {"count": len(log), "requests": log})
        if route == ("DELETE", "/_sim/requests"):
            cleared = len(self.requests)
            self.clear_requests()
            return json_answer(200, {"cleared": cleared})
        if route == ("POST", "/_sim/script"):
            data = _json_object(incoming.body)
            try:
                if data is None:
                    raise ScriptError('the body must be a script JSON object or {"name": NAME}')
                self.set_script(data)
            except ScriptError as exc:
                return json_answer(400, {"error": {"message": str(exc), "type": "invalid_script"}})
            return json_answer(200, {"ok": True, "steps": len(self.script.steps)})
        return json_answer(
            404, {"error": {"message": f"no control endpoint {route[0]} {route[1]}"}}
        )


_CONVERSATION = frozenset({"messages", "system", "prompt", "suffix"})


def _parameters(body: Mapping[str, JsonValue] | None) -> dict[str, JsonValue]:
    return {k: v for k, v in (body or {}).items() if k not in _CONVERSATION}


def _json_object(raw: bytes) -> dict[str, JsonValue] | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
