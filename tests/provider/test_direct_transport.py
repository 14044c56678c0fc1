"""Kestrel's lean HTTP/1.1 transport (direct connections): framing, keep-alive, faults, TLS,
timeouts and cancellation, over real sockets (the simulator, or a raw server for byte-level
cases). The simulator's own fault tests also pass through it (see `test_simulator`'s faults)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import trustme
from httpx_sse import aconnect_sse

from kestrel_lsp.provider.direct import DirectTransport
from kestrel_lsp.provider.http import HttpClientFactory, NetworkSettings
from kestrel_lsp.provider.network import describe
from kestrel_lsp.simulator import SimulatorServer

BEARER = {"Authorization": "Bearer sk-direct-test"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def client(timeout: float = 5, **kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=DirectTransport(**kwargs),  # type: ignore[arg-type]
        timeout=timeout,
        trust_env=False,
    )


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start a raw asyncio server with a given connection handler; yields its URL maker."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()


async def test_plain_and_streamed_answers_share_one_connection() -> None:
    async with SimulatorServer() as sim, client() as http:
        first = await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
        body = {**CHAT, "stream": True}
        async with aconnect_sse(
            http, "POST", sim.url + "/chat/completions", json=body, headers=BEARER
        ) as source:
            events = [event.data async for event in source.aiter_sse()]
        second = await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
    assert first.status_code == second.status_code == 200
    assert events[-1] == "[DONE]"
    assert len({r["peer_port"] for r in sim.requests}) == 1


async def test_chunked_body_split_anywhere_with_extensions_and_trailers(
    raw_server: Callable[[Handler], Awaitable[str]],
) -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n0A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            await read_request(reader)
            for i in range(len(wire)):  # one byte at a time
                writer.write(wire[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0)
        writer.close()

    url = await raw_server(handler)
    async with client() as http:
        for _ in range(2):  # the second on the same, kept-alive connection
            response = await http.get(url)
            assert response.content == b"hello 0123456789"


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    raw_server: Callable[[Handler], Awaitable[str]],
) -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # keep-alive was implied, but the server closes anyway

    url = await raw_server(handler)
    async with client() as http:
        assert (await http.get(url)).text == "ok"
        await asyncio.sleep(0.05)
        assert (await http.get(url)).text == "ok"
    assert connections == 2


async def test_close_delimited_and_empty_bodies(
    raw_server: Callable[[Handler], Awaitable[str]],
) -> None:
    answers = iter(
        [
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\n\r\nuntil close",
        ]
    )

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                answer = next(answers)
                writer.write(answer)
                await writer.drain()
                if answer.startswith(b"HTTP/1.0"):
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    url = await raw_server(handler)
    async with client() as http:
        assert (await http.get(url)).status_code == 204
        assert (await http.get(url)).content == b""
        assert (await http.get(url)).content == b"until close"


async def test_truncated_and_reset_answers_are_transport_errors() -> None:
    script = {"steps": [{"fault": "truncate"}, {"fault": "reset"}]}
    async with SimulatorServer(script) as sim, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
        with pytest.raises(httpx.TransportError) as reset:
            await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
        ok = await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
    assert ok.status_code == 200
    reason = describe(reset.value)
    assert "reset" in reason or "closed" in reason, reason


async def test_a_stall_is_a_read_timeout() -> None:
    async with SimulatorServer("stall") as sim, client(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)


async def test_refused_connection_reads_as_refused() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with client() as http:
        with pytest.raises(httpx.ConnectError) as refused:
            await http.get(f"http://127.0.0.1:{port}/")
    assert describe(refused.value) == "connection refused"


async def test_cancelling_a_request_drops_its_connection() -> None:
    transport = DirectTransport()
    async with (
        SimulatorServer({"latency_ms": 5000}) as sim,
        httpx.AsyncClient(transport=transport, trust_env=False) as http,
    ):
        task = asyncio.ensure_future(
            http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not transport._active and not any(transport._idle.values())
        sim.set_script("ok")
        ok = await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
    assert ok.status_code == 200


async def test_fifty_concurrent_requests_use_many_connections() -> None:
    async with SimulatorServer({"latency_ms": 250}) as sim, client(timeout=10) as http:
        answers = await asyncio.gather(
            *(
                http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
                for _ in range(50)
            )
        )
    assert [a.status_code for a in answers] == [200] * 50
    assert len({r["peer_port"] for r in sim.requests}) > 10


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_tls_trusted_untrusted_and_insecure(ca: trustme.CA) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    made: list[ssl.SSLContext] = []

    def lazily() -> ssl.SSLContext:
        made.append(trusting)
        return trusting

    async with SimulatorServer(ssl_context=server_context) as sim:
        async with client(ssl_context=lazily) as http:
            for _ in range(2):
                response = await http.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
                assert response.status_code == 200
        assert len(made) == 1  # built once, on the first https request
        async with client() as untrusting:
            with pytest.raises(httpx.ConnectError) as failed:
                await untrusting.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
        assert describe(failed.value).startswith("TLS certificate not trusted")
        async with client(ssl_context=False) as insecure:
            response = await insecure.post(sim.url + "/chat/completions", json=CHAT, headers=BEARER)
            assert response.status_code == 200


def test_direct_routes_use_it_and_proxied_routes_use_httpx() -> None:
    factory = HttpClientFactory(NetworkSettings(proxy="http://127.0.0.1:9", env={}))
    transport = factory.new_client()._transport
    direct = factory.route("http://127.0.0.1:8000/v1/chat/completions")  # loopback: no proxy
    proxied = factory.route("https://api.deepseek.com/beta/completions")
    assert isinstance(transport._transport(direct), DirectTransport)  # type: ignore[attr-defined]
    assert isinstance(
        transport._transport(proxied),  # type: ignore[attr-defined]
        httpx.AsyncHTTPTransport,
    )
