"""A hostile or broken provider, one rule per test, on raw socket servers on 127.0.0.1 (each
bounded: it stops when the client closes, and the test's timeout bounds the rest).

Bounded bodies (16 MiB after decoding, 64 KiB of an error body), one deadline per attempt, a
stream that ends at its end marker, stale bytes never answering, at most 16 connections per
origin, header values checked, strict HTTP parsing, IDNA 2008 host names."""

from __future__ import annotations

import asyncio
import json
import ssl
import zlib

import pytest
import trustme

from kestrel_lsp.features.notices import notice_text
from kestrel_lsp.provider import read_reply, wire_openai
from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.errors import (
    MalformedReplyError,
    ProviderResponseError,
    ProviderUnavailableError,
)
from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.errors import (
    BodyTooLarge,
    DeadlineExceeded,
    MalformedReply,
    NetworkSetupError,
    TlsFailure,
)
from kestrel_lsp.provider.transport.http11 import MAX_BODY, HttpRequest
from kestrel_lsp.provider.transport.pool import (
    MAX_CONNECTIONS_PER_ORIGIN,
    HttpTransport,
    TransportFactory,
)
from kestrel_lsp.provider.wire import ChatPrompt

from raw_http import Peer, RawServer, http_response

MIB = 1024 * 1024
PROMPT = ChatPrompt(system="s", user="u")
CHAT_OK = json.dumps({"choices": [{"message": {"content": "fresh answer"}}]}).encode()
NO_RETRIES = RetrySettings(max_retries=0, max_auth_retries=0)


def transport(timeout_s: float = 10, **settings: object) -> HttpTransport:
    return HttpTransport(NetworkSettings(timeout_s=timeout_s, env={}, **settings))  # type: ignore[arg-type]


def post(url: str, headers: dict[str, str] | None = None) -> HttpRequest:
    return HttpRequest("POST", url, headers or {"Content-Type": "application/json"}, b"{}")


def zip_bomb(mib: int, wbits: int) -> bytes:
    """`mib` MiB of zeros, compressed to about 1 KB per MiB. After a full flush the compressor
    starts afresh, so each further MiB compresses to the same bytes: built in no time. (Its
    checksum covers two MiB only; a client that reads past 16 MiB never gets that far.)"""
    block = bytes(MIB)
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (mib - 1) + packer.flush()


# -- bounded bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(("coding", "wbits"), [("gzip", 31), ("deflate", 15), ("deflate", -15)])
async def test_a_compression_bomb_is_refused_after_16_mib(coding: str, wbits: int) -> None:
    bomb = zip_bomb(1024, wbits)

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(http_response(bomb, headers=(f"Content-Encoding: {coding}",)))
        await peer.closed_by_client()

    async with RawServer(handler) as server:
        http = transport()
        response = await http.send(post(server.url))
        with pytest.raises(BodyTooLarge):
            await response.read()
        await response.aclose()
        assert not http._active  # the connection is closed, not pooled
    assert len(bomb) < 2 * MIB  # small on the wire


async def test_a_1_gib_gzip_bomb_becomes_a_provider_error() -> None:
    gzip_bomb = zip_bomb(1024, zlib.MAX_WBITS | 16)

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(http_response(gzip_bomb, headers=("Content-Encoding: gzip",)))
        await peer.closed_by_client()

    async with RawServer(handler) as server:
        client = make_client_at(server.url)
        with pytest.raises(ProviderResponseError) as err:
            await client.chat(PROMPT, stream=False)
        await client.aclose()
    assert "larger than 16 MiB" in notice_text(err.value)


def make_client_at(
    url: str, timeout_s: float = 10, retry: RetrySettings = NO_RETRIES
) -> ProviderClient:
    config = ProviderConfig(PRESETS["deepseek"], url, "m", "sk-hostile-test-key-0123", retry)
    factory = TransportFactory(NetworkSettings(timeout_s=timeout_s, env={}))
    return ProviderClient(config, AuthTracker(), factory, rand=lambda: 0.0)


async def test_a_huge_body_is_refused_at_16_mib_and_not_read_further() -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 500000000\r\n\r\n")
        block = b"x" * MIB
        while peer.sent < 500 * MIB:
            await peer.send(block)

    async with RawServer(handler) as server:
        http = transport()
        response = await http.send(post(server.url))
        with pytest.raises(BodyTooLarge):
            await response.read()
        await response.aclose()
        await http.aclose()
    assert server.peers[0].sent < MAX_BODY + 24 * MIB  # what the kernel's buffers held, no more


async def test_an_error_body_is_read_up_to_64_kib() -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 500 Oops\r\nContent-Length: 200000000\r\n\r\n")
        await peer.send(b'{"error": {"message": "gateway exploded"}}' + b" " * (4 * MIB))
        while peer.sent < 200 * MIB:
            await peer.send(b" " * MIB)

    async with RawServer(handler) as server:
        client = make_client_at(server.url)
        with pytest.raises(ProviderResponseError) as err:
            await client.chat(PROMPT, stream=False)
        await client.aclose()
    assert notice_text(err.value) == "Kestrel: deepseek answered HTTP 500: gateway exploded"
    assert server.peers[0].sent < 40 * MIB


async def test_an_endless_stream_without_its_end_marker_is_refused_at_16_mib() -> None:
    event = b"data: " + json.dumps({"choices": [{"delta": {"content": "x" * 1000}}]}).encode()

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        frame = (event + b"\n\n") * 1000
        while True:
            await peer.send(frame)

    async with RawServer(handler) as server:
        client = make_client_at(server.url)
        with pytest.raises(ProviderResponseError) as err:
            await client.chat(PROMPT)
        await client.aclose()
    assert "larger than 16 MiB" in notice_text(err.value)
    assert server.peers[0].sent < MAX_BODY + 24 * MIB


# -- one deadline per attempt --------------------------------------------------------------------


async def test_a_trickle_ends_at_the_attempts_total_deadline() -> None:
    """One byte every 0.1 s would keep a per-read timeout waiting forever; the attempt's total
    deadline (1 s here) ends it after about ten bytes."""

    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while True:
            await peer.send(b" ")
            await asyncio.sleep(0.1)

    async with RawServer(handler) as server:
        http = transport(timeout_s=1.0)
        response = await http.send(post(server.url))
        with pytest.raises(DeadlineExceeded) as late:
            await response.read()
        await response.aclose()
        client = make_client_at(server.url, timeout_s=1.0)
        with pytest.raises(ProviderUnavailableError) as err:
            await client.chat(PROMPT, stream=False)
        await client.aclose()
    assert late.value.phase == "response"
    assert err.value.reason == "no answer before the timeout (kestrel.requestTimeoutMs)"
    body_bytes = [peer.sent - 45 for peer in server.peers]
    assert all(0 < sent < 40 for sent in body_bytes), body_bytes


# -- a stream ends at its end --------------------------------------------------------------------


def sse_head(extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        + (extra + b"\r\n")
    )


def sse_chunk(*events: str) -> bytes:
    data = "".join(f"data: {e}\n\n" for e in events).encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


HELLO = json.dumps({"choices": [{"delta": {"content": "hello"}}]})


async def test_reading_stops_at_done_and_what_follows_is_not_waited_for() -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(sse_head() + sse_chunk(HELLO, "[DONE]"))
        while True:  # keep-alive comments after [DONE], and never the last chunk
            await peer.send(b"3\r\n:\n\n\r\n")
            await asyncio.sleep(0.05)

    async with RawServer(handler) as server:
        http = transport()
        response = await http.send(post(server.url))
        text = (await read_reply.read_stream(response, wire_openai.ChatStreamDecoder())).text
        await response.aclose()
        assert text == "hello"
        assert not http._active and not http._pool.idle.get(next(iter(http._slots)))
        await http.aclose()


async def test_a_stream_whose_last_chunk_came_with_done_keeps_its_connection() -> None:
    async def handler(peer: Peer) -> None:
        while await peer.request() is not None:
            await peer.send(sse_head() + sse_chunk(HELLO, "[DONE]") + b"0\r\n\r\n")

    async with RawServer(handler) as server:
        http = transport()
        for _ in range(3):
            response = await http.send(post(server.url))
            decoder = wire_openai.ChatStreamDecoder()
            assert (await read_reply.read_stream(response, decoder)).text == "hello"
            await response.aclose()
        await http.aclose()
    assert server.connections == 1


# -- a pooled connection with anything waiting on it is retired --------------------------------


async def test_stale_bytes_on_an_idle_connection_never_answer_a_later_request() -> None:
    first_done = asyncio.Event()
    retired = asyncio.Event()
    stale = http_response(b'{"choices": [{"message": {"content": "STALE"}}]}')

    async def handler(peer: Peer) -> None:
        await peer.request()
        if server.connections == 1:
            await peer.send(http_response(CHAT_OK))
            await first_done.wait()
            await peer.send(stale)  # nothing asked for it
            await peer.closed_by_client()
            retired.set()
            return
        await peer.send(http_response(CHAT_OK))

    async with RawServer(handler) as server:
        http = transport()
        response = await http.send(post(server.url))
        await response.read()
        await response.aclose()
        first_done.set()
        await retired.wait()  # the client closed the connection those bytes came on
        response = await http.send(post(server.url))
        assert await response.read() == CHAT_OK
        await response.aclose()
        await http.aclose()
    assert server.connections == 2


async def test_bytes_right_after_a_response_retire_its_connection() -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(http_response(CHAT_OK) + b"HTTP/1.1 200 OK\r\n")  # one write: both
        if server.connections == 1:
            await peer.closed_by_client()

    async with RawServer(handler) as server:
        http = transport()
        for _ in range(2):
            response = await http.send(post(server.url))
            assert await response.read() == CHAT_OK
            await response.aclose()
        await http.aclose()
    assert server.connections == 2


# -- at most 16 connections per origin -----------------------------------------------------------


async def test_at_most_16_connections_per_origin_the_rest_queue() -> None:
    full = asyncio.Event()

    async def handler(peer: Peer) -> None:
        while await peer.request() is not None:
            if server.open_now >= MAX_CONNECTIONS_PER_ORIGIN:
                full.set()
            await full.wait()  # without the cap, all 100 would open before any answer
            await peer.send(http_response(CHAT_OK))

    async with RawServer(handler) as server:
        http = transport()

        async def one() -> bytes:
            response = await http.send(post(server.url))
            try:
                return await response.read()
            finally:
                await response.aclose()

        answers = await asyncio.gather(*(one() for _ in range(100)))
        await http.aclose()
    assert answers == [CHAT_OK] * 100
    assert server.most_open == MAX_CONNECTIONS_PER_ORIGIN


# -- header values are checked -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["Bearer sk-k\r\nX-Injected: yes", "Bearer sk-k\nContent-Length: 0", "sk-\x00", "é"]
)
async def test_a_header_value_with_a_control_character_sends_nothing(value: str) -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()

    async with RawServer(handler) as server:
        http = transport()
        with pytest.raises(NetworkSetupError) as err:
            await http.send(post(server.url, {"Authorization": value}))
        await http.aclose()
    assert server.connections == 0
    assert "sk-k" not in str(err.value) and "Authorization" in str(err.value)


# -- strict HTTP parsing, named as such ----------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 2_00 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}",
    ],
)
async def test_a_malformed_reply_is_named_malformed_not_unreachable(answer: bytes) -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()
        await peer.send(answer)
        await peer.closed_by_client()

    async with RawServer(handler) as server:
        http = transport()
        with pytest.raises(MalformedReply):
            response = await http.send(post(server.url))
            await response.read()
        await http.aclose()
        client = make_client_at(server.url)
        with pytest.raises(MalformedReplyError) as err:
            await client.chat(PROMPT, stream=False)
        await client.aclose()
    assert notice_text(err.value).startswith("Kestrel: the provider's reply was malformed")
    assert "cannot reach" not in notice_text(err.value)


# -- host names in their IDNA 2008 form ----------------------------------------------------------

IDNA_2008 = "xn--fa-hia.test"  # faß.test; IDNA 2003 would make it fass.test


@pytest.fixture(scope="module")
def idna_ca() -> trustme.CA:
    return trustme.CA()


async def test_an_international_host_is_resolved_sent_as_sni_and_host_in_idna_2008(
    idna_ca: trustme.CA, tmp_path
) -> None:
    server_names: list[str | None] = []
    hosts: list[str] = []
    looked_up: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    idna_ca.issue_cert(IDNA_2008).configure_cert(context)
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    ca_pem = tmp_path / "ca.pem"
    idna_ca.cert_pem.write_to_path(str(ca_pem))

    async def handler(peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        hosts.extend(
            line.split(b":", 1)[1].strip().decode()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"host:")
        )
        await peer.send(http_response(CHAT_OK))

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    async with RawServer(handler, ssl_context=context) as server:
        settings = NetworkSettings(ca_certs=str(ca_pem), env={})
        http = HttpTransport(settings, resolve=resolve)
        response = await http.send(post(f"https://fa\u00df.test:{server.port}/v1"))
        assert await response.read() == CHAT_OK
        await response.aclose()
        await http.aclose()
    assert looked_up == [IDNA_2008]
    assert server_names == [IDNA_2008]
    assert hosts == [f"{IDNA_2008}:{server.port}"]


async def test_a_certificate_for_the_idna_2003_name_is_refused(
    idna_ca: trustme.CA, tmp_path
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    idna_ca.issue_cert("fass.test").configure_cert(context)
    ca_pem = tmp_path / "ca.pem"
    idna_ca.cert_pem.write_to_path(str(ca_pem))

    async def handler(peer: Peer) -> None:
        await peer.request()

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with RawServer(handler, ssl_context=context) as server:
        http = HttpTransport(NetworkSettings(ca_certs=str(ca_pem), env={}), resolve=resolve)
        with pytest.raises(TlsFailure) as failed:
            await http.send(post(f"https://fa\u00df.test:{server.port}/v1"))
        await http.aclose()
    assert failed.value.kind == "hostname"
