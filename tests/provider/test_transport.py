"""Kestrel's one HTTP stack (h11 over asyncio) on real sockets: framing, keep-alive, faults,
TLS, deadlines and cancellation, against the simulator or a raw server for byte-level cases.
The hostile-provider rules have their own file (`test_hostile_transport`)."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest
import trustme

from kestrel_lsp.provider import read_reply, wire_openai
from kestrel_lsp.provider.network import TLS_NOT_TRUSTED, describe
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.errors import (
    ConnectFailure,
    ConnectionClosed,
    DeadlineExceeded,
    TlsFailure,
)
from kestrel_lsp.provider.transport.http11 import HttpRequest
from kestrel_lsp.provider.transport.pool import HttpTransport
from kestrel_lsp.provider.transport.tls import TlsContexts
from kestrel_lsp.simulator import SimulatorServer

from raw_http import Peer, RawServer, http_response

BEARER = {"Authorization": "Bearer sk-transport-test", "Content-Type": "application/json"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def transport(timeout_s: float = 5, **settings: object) -> HttpTransport:
    return HttpTransport(NetworkSettings(timeout_s=timeout_s, env={}, **settings))  # type: ignore[arg-type]


def post(url: str, body: object = CHAT) -> HttpRequest:
    return HttpRequest("POST", url, BEARER, json.dumps(body).encode())


async def fetch(http: HttpTransport, url: str) -> tuple[int, bytes]:
    response = await http.send(HttpRequest("GET", url, {}))
    try:
        return response.status, await response.read()
    finally:
        await response.aclose()


async def test_plain_and_streamed_answers_share_one_connection() -> None:
    http = transport()
    async with SimulatorServer() as sim:
        first = await http.send(post(sim.url + "/chat/completions"))
        assert json.loads(await first.read())["choices"]
        await first.aclose()
        streamed = await http.send(post(sim.url + "/chat/completions", {**CHAT, "stream": True}))
        text = (await read_reply.read_stream(streamed, wire_openai.ChatStreamDecoder())).text
        await streamed.aclose()
        third = await http.send(post(sim.url + "/chat/completions"))
        await third.read()
        await third.aclose()
        await http.aclose()
    assert text
    assert len({r["peer_port"] for r in sim.requests}) == 1
    assert http.connections_opened == 1


async def test_chunked_body_split_anywhere_with_extensions_and_trailers() -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n0A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )

    async def handler(peer: Peer) -> None:
        for _ in range(2):
            await peer.request()
            for i in range(len(wire)):  # one byte at a time
                await peer.send(wire[i : i + 1])
                await asyncio.sleep(0)

    async with RawServer(handler) as server:
        http = transport()
        for _ in range(2):  # the second on the same, kept-alive connection
            assert await fetch(http, server.url) == (200, b"hello 0123456789")
        await http.aclose()
    assert server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """Whether the close arrives before the next request (the connection is dropped from the
    pool) or just after it went out (the request is sent again, once, on a new connection), the
    second answer comes on a second connection."""
    closed = asyncio.Event()

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(http_response(b"ok"))
        peer.writer.close()  # keep-alive was implied, but the server closes anyway
        await peer.writer.wait_closed()
        closed.set()

    async with RawServer(handler) as server:
        http = transport()
        assert await fetch(http, server.url) == (200, b"ok")
        await closed.wait()
        closed.clear()
        assert await fetch(http, server.url) == (200, b"ok")
        await http.aclose()
    assert server.connections == 2


async def test_close_delimited_and_empty_bodies() -> None:
    answers = [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nuntil close",
    ]

    async def handler(peer: Peer) -> None:
        for answer in answers:
            if await peer.request() is None:
                return
            await peer.send(answer)

    async with RawServer(handler) as server:
        http = transport()
        assert await fetch(http, server.url) == (204, b"")
        assert await fetch(http, server.url) == (200, b"")
        assert await fetch(http, server.url) == (200, b"until close")
        await http.aclose()


async def test_truncated_and_reset_answers_are_closed_connections() -> None:
    script = {"steps": [{"fault": "truncate"}, {"fault": "reset"}]}
    http = transport()
    async with SimulatorServer(script) as sim:
        url = sim.url + "/chat/completions"
        truncated = await http.send(post(url))
        with pytest.raises(ConnectionClosed):
            await truncated.read()
        await truncated.aclose()
        with pytest.raises(ConnectionClosed) as reset:
            await http.send(post(url))
        ok = await http.send(post(url))
        await ok.read()
        await ok.aclose()
        await http.aclose()
    assert ok.status == 200
    assert describe(reset.value) in (
        "the connection was reset",
        "the connection was closed before a complete answer",
    )


async def test_a_stall_ends_at_the_deadline() -> None:
    http = transport(timeout_s=0.3)
    async with SimulatorServer("stall") as sim:
        with pytest.raises(DeadlineExceeded) as late:
            await http.send(post(sim.url + "/chat/completions"))
        await http.aclose()
    assert late.value.phase == "response"
    assert describe(late.value) == "no answer before the timeout (kestrel.requestTimeoutMs)"


async def test_refused_connection_reads_as_refused() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    http = transport()
    with pytest.raises(ConnectFailure) as refused:
        await http.send(HttpRequest("GET", f"http://127.0.0.1:{port}/", {}))
    assert refused.value.cause == "refused"
    assert describe(refused.value) == "connection refused"


async def test_cancelling_a_request_drops_its_connection_and_frees_its_slot() -> None:
    arrived = asyncio.Event()

    async def handler(peer: Peer) -> None:
        await peer.request()
        if peer is server.peers[0]:
            arrived.set()
            await peer.closed_by_client()  # never answers
            return
        await peer.send(http_response(b"ok"))

    http = transport()
    async with RawServer(handler) as server:
        task = asyncio.ensure_future(http.send(post(server.url)))
        await arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not http._active
        assert await fetch(http, server.url) == (200, b"ok")
        await http.aclose()
    assert server.connections == 2


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_tls_trusted_untrusted_and_insecure(ca: trustme.CA, tmp_path) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    async with SimulatorServer(ssl_context=server_context) as sim:
        url = sim.url + "/chat/completions"
        trusting = transport(ca_certs=str(ca_pem))
        for _ in range(2):
            response = await trusting.send(post(url))
            await response.read()
            await response.aclose()
            assert response.status == 200
        assert trusting.connections_opened == 1
        await trusting.aclose()
        with pytest.raises(TlsFailure) as failed:
            await transport().send(post(url))
        assert failed.value.kind == "untrusted" and describe(failed.value) == TLS_NOT_TRUSTED
        insecure = transport(insecure_hosts=("127.0.0.1",))
        response = await insecure.send(post(url))
        await response.aclose()
        assert response.status == 200
        await insecure.aclose()


async def test_plain_http_never_loads_the_trust_store() -> None:
    settings = NetworkSettings(ca_certs="/nonexistent/ca.pem", env={})
    tls = TlsContexts(settings)
    http = HttpTransport(settings, tls)
    async with SimulatorServer() as sim:
        response = await http.send(post(sim.url + "/chat/completions"))
        await response.aclose()
        await http.aclose()
    assert response.status == 200 and tls._verified is None
