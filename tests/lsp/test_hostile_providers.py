"""Hostile or broken providers and settings, through the real server: an editor asks for an
action while a raw socket server on 127.0.0.1 answers with a compression bomb, a huge body, a
trickle, keep-alive noise after `[DONE]`, stale bytes, or a flood of connections; and settings
hold a key or a base URL that must not reach the wire. Each test reads what the editor sees
(edits, notices) and what reached the provider; the figures go to the reliability report."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import zlib
from pathlib import Path
from typing import Any

import trustme
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from forward_proxy import ForwardProxy
from lsp_harness import Editor
from lsp_steps import DOCSTRING, ask_provider, deepseek_at, kestrel, merged
from raw_http import Peer, RawServer, chat_answer, http_response
from reliability_report import REPORT

MIB = 1024 * 1024
REPLY = '```python\ndef add(a, b):\n    """Add two numbers."""\n    return a + b\n```'
ONE_TRY = {"retry": {"maxRetries": 0, "initialDelayMs": 0, "maxDelayMs": 1}}
ERROR = types.MessageType.Error


def peak_rss_mb(ed: Editor) -> float:
    """The server process's peak resident set (VmHWM), in MB."""
    pid = ed.client._server.pid  # type: ignore[union-attr]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def written_by_server(ed: Editor) -> str:
    return "\n".join(ed.rec.server_output) + ed.rec.stderr.decode("utf-8", "replace")


def zip_bomb(mib: int, wbits: int) -> bytes:
    """`mib` MiB of zeros in about 1 KB per MiB (see tests/provider/test_hostile_transport)."""
    block = bytes(MIB)
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (mib - 1) + packer.flush()


# -- bounded: memory ------------------------------------------------------------------------------


async def test_bombs_and_huge_bodies_keep_the_server_under_300_mb_and_end_in_a_notice() -> None:
    gzip = zip_bomb(1024, zlib.MAX_WBITS | 16)
    deflate = zip_bomb(1024, zlib.MAX_WBITS)
    event = b"data: " + json.dumps({"choices": [{"delta": {"content": "x" * 4000}}]}).encode()

    async def bomb(peer: Peer, body: bytes, coding: str) -> None:
        headers = (f"Content-Encoding: {coding}", "Content-Type: text/event-stream")
        await peer.send(http_response(body, headers=headers))

    async def huge_body(peer: Peer) -> None:
        await peer.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Content-Length: 500000000\r\n\r\n"
        )
        while peer.sent < 500 * MIB:
            await peer.send(b"x" * MIB)

    async def huge_error(peer: Peer) -> None:
        await peer.send(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 200000000\r\n\r\n")
        while peer.sent < 200 * MIB:
            await peer.send(b"<html>" * (MIB // 6))

    async def endless_stream(peer: Peer) -> None:
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        while peer.sent < 1024 * MIB:
            await peer.send((event + b"\n\n") * 256)

    plays = [
        ("gzip bomb (1 MB on the wire, 1 GiB inflated)", lambda p: bomb(p, gzip, "gzip")),
        ("deflate bomb (1 MB on the wire, 1 GiB inflated)", lambda p: bomb(p, deflate, "deflate")),
        ("500 MB body", huge_body),
        ("200 MB error body", huge_error),
        ("event stream with no [DONE] (1 GiB)", endless_stream),
    ]

    async def handler(peer: Peer) -> None:
        await peer.request()
        _, play = plays[len(server.peers) - 1]
        await play(peer)
        await peer.closed_by_client()

    async with RawServer(handler) as server:
        async with kestrel(server, init=ONE_TRY) as ed:  # type: ignore[arg-type]
            ed.open()
            figures = []
            for name, _ in plays:
                started = time.perf_counter()
                assert (await ask_provider(ed)).edit is None
                seconds = time.perf_counter() - started
                notice = ed.notices[-1]
                assert notice.type == ERROR and notice.message.startswith("Kestrel: deepseek")
                figures.append(f"{name}: {notice.message[:90]}... in {seconds:.2f} s")
            peak = peak_rss_mb(ed)
    assert len(ed.notices) == len(plays)
    assert "larger than 16 MiB" in ed.notices[0].message
    assert ed.notices[3].message == "Kestrel: deepseek answered HTTP 502: an HTML error page"
    sent = [f"{peer.sent / MIB:.0f} MiB" for peer in server.peers]
    REPORT.hostile += [
        *figures,
        f"bombs and huge bodies: server peak RSS {peak:.0f} MB; sent {sent}",
    ]
    assert peak < 300, f"peak RSS {peak:.0f} MB"


# -- bounded: time -------------------------------------------------------------------------------


async def test_a_trickle_ends_at_request_timeout_ms() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 99\r\n\r\n"

    async def handler(peer: Peer) -> None:
        await peer.request()
        for byte in answer:  # one byte every 0.1 s: a per-read timeout would never fire
            await peer.send(bytes([byte]))
            await asyncio.sleep(0.1)

    async with RawServer(handler) as server:
        init = merged(ONE_TRY, {"requestTimeoutMs": 1000})
        async with kestrel(server, init=init) as ed:  # type: ignore[arg-type]
            ed.open()
            started = time.perf_counter()
            assert (await ask_provider(ed)).edit is None
            seconds = time.perf_counter() - started
    assert [n.message for n in ed.notices] == [
        f"Kestrel: cannot reach deepseek at {server.url}: no answer before the timeout "
        "(kestrel.requestTimeoutMs)."
    ]
    assert 0 < server.peers[0].sent < 40  # about ten bytes in 1 s, then the client hung up
    REPORT.hostile.append(
        f"trickle (1 byte / 0.1 s), requestTimeoutMs 1000: ended after {seconds:.2f} s, "
        f"{server.peers[0].sent} bytes read"
    )


# -- a stream ends at its end --------------------------------------------------------------------


async def test_a_reply_with_keep_alive_noise_after_done_is_applied_at_once() -> None:
    async def handler(peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        await peer.send(chat_answer(request, REPLY, tail=b""))  # [DONE], but no last chunk
        while True:
            await peer.send(b"3\r\n:\n\n\r\n")  # keep-alive comments, forever
            await asyncio.sleep(0.2)

    async with RawServer(handler) as server:
        async with kestrel(server) as ed:  # type: ignore[arg-type]
            ed.open()
            started = time.perf_counter()
            resolved = await ask_provider(ed)
            seconds = time.perf_counter() - started
            assert resolved.edit is not None and ed.notices == []
            await server.peers[0].closed_by_client()  # not pooled: closed
    REPORT.hostile.append(f"keep-alive comments after [DONE]: edit applied in {seconds:.2f} s")


async def test_stale_bytes_on_an_idle_connection_never_become_an_answer() -> None:
    first_answered = asyncio.Event()
    stale_sent = asyncio.Event()
    retired = asyncio.Event()
    stale = REPLY.replace("Add two numbers.", "STALE INJECTED REPLY")

    async def handler(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            text = REPLY.replace("Add two numbers.", f"answer {len(server.peers)}")
            await peer.send(chat_answer(request, text))
            if len(server.peers) == 1:
                await first_answered.wait()
                await peer.send(chat_answer(request, stale))  # nobody asked
                stale_sent.set()
                await peer.closed_by_client()
                retired.set()
                return

    async with RawServer(handler) as server:
        async with kestrel(server) as ed:  # type: ignore[arg-type]
            ed.open()
            assert (await ask_provider(ed)).edit is not None
            first_answered.set()
            await retired.wait()  # the server saw Kestrel close the connection
            second = await ask_provider(ed)
    new_text = second.edit.document_changes[0].edits[0].new_text
    assert "answer 2" in new_text and "STALE" not in new_text
    assert server.connections == 2


# -- connections per origin are capped -----------------------------------------------------------


async def test_500_concurrent_resolves_open_at_most_16_sockets_and_all_get_their_answer() -> None:
    full = asyncio.Event()

    async def handler(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            if server.open_now >= 16:
                full.set()
            if server.connections > 1:
                await full.wait()  # without a cap, all 500 would connect before any answer
            await peer.send(chat_answer(request, REPLY))

    async with RawServer(handler) as server:
        async with kestrel(server) as ed:  # type: ignore[arg-type]
            ed.open()
            assert (await ask_provider(ed)).edit is not None  # known-good from here
            action = await ed.action(DOCSTRING)
            started = time.perf_counter()
            resolved = await asyncio.gather(*(ed.resolve(action) for _ in range(500)))
            seconds = time.perf_counter() - started
    assert all(r.edit is not None for r in resolved)
    assert ed.notices == []
    assert server.most_open <= 16
    REPORT.hostile.append(
        f"500 concurrent resolves: {server.most_open} sockets at most, "
        f"{server.connections} opened in all, every answer in {seconds:.2f} s"
    )


# -- settings that must not reach the wire -------------------------------------------------------

KEY_CANARY = "sk-hostile-canary-8e2d5b71c4a9f063"


async def test_a_key_with_cr_lf_sends_nothing_and_shows_nothing() -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()

    async with RawServer(handler) as server:
        key = f"{KEY_CANARY}\r\nX-Injected: yes"
        async with kestrel(server, key=key) as ed:  # type: ignore[arg-type]
            await ed.wait_for_notice("Kestrel: setting kestrel.apiKey is invalid")
            ed.open()
            assert (await ask_provider(ed)).edit is None
            await ed.wait_for_notice("Kestrel: API key is missing")
    assert server.connections == 0
    written = written_by_server(ed)
    for piece in (KEY_CANARY, KEY_CANARY[:8], KEY_CANARY[-8:], "X-Injected"):
        assert piece not in written


# A quote and a backslash: its repr and JSON forms differ from the key itself.
ESCAPED_CANARY = 'sk-esc"canary\\4c1e9b7a2f60d3'


def key_forms(key: str) -> list[str]:
    forms = {key, repr(key), json.dumps(key), repr(key.encode()), ascii(key)}
    pieces = {key[:8], key[-8:], json.dumps(key)[1:9], json.dumps(key)[-9:-1]}
    return sorted(forms | pieces)


async def test_the_key_never_appears_raw_repr_or_json_escaped_in_any_output() -> None:
    echoed = (
        f"<html><title>gateway: key {json.dumps(ESCAPED_CANARY)} rejected "
        f"(repr {ESCAPED_CANARY!r}, starts {ESCAPED_CANARY[:12]}, ends {ESCAPED_CANARY[-10:]})"
        "</title></html>"
    ).encode()

    async def handler(peer: Peer) -> None:
        while await peer.request() is not None:
            await peer.send(http_response(echoed, status="400 Bad Request"))

    async with RawServer(handler) as server:
        env = {"KESTREL_LOG_LEVEL": "DEBUG"}
        async with kestrel(server, key=ESCAPED_CANARY, env=env) as ed:  # type: ignore[arg-type]
            ed.open()
            assert (await ask_provider(ed)).edit is None
            notice = await ed.wait_for_notice("Kestrel: deepseek answered HTTP 400")
            await ed.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="kestrel.checkSetup")
            )
    assert "[redacted]" in notice.message
    written = written_by_server(ed)
    assert [form for form in key_forms(ESCAPED_CANARY) if form in written] == []


async def test_userinfo_in_the_base_url_is_never_on_the_wire_or_in_any_output() -> None:
    async def handler(peer: Peer) -> None:
        await peer.request()

    async with RawServer(handler) as server:
        url = f"http://alice-user:pw-userinfo-canary-61@127.0.0.1:{server.port}/v1"
        init: dict[str, Any] = {
            "provider": "openai-compatible",
            "model": "m",
            "baseUrl": url,
            "apiKey": KEY_CANARY,
        }
        async with kestrel(server, init=init, env={"KESTREL_LOG_LEVEL": "DEBUG"}) as ed:  # type: ignore[arg-type]
            notice = await ed.wait_for_notice("Kestrel: setting kestrel.baseUrl is invalid")
            ed.open()
            assert (await ask_provider(ed)).edit is None
            report = await ed.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="kestrel.checkSetup")
            )
    assert "kestrel.apiKey" in notice.message
    assert server.connections == 0
    written = written_by_server(ed) + json.dumps(report, default=str)
    for piece in ("alice-user", "pw-userinfo-canary-61", "pw-useri"):
        assert piece not in written


# -- host names ----------------------------------------------------------------------------------


async def test_an_international_host_reaches_its_idna_2008_name(
    proxy: ForwardProxy, tmp_path: Path
) -> None:
    """`faß.test` goes out as `xn--fa-hia.test` (IDNA 2008): the CONNECT target, SNI and the
    certificate check all use it. Only the test proxy resolves that name (to 127.0.0.1); the
    IDNA 2003 form, `fass.test`, resolves nowhere."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("xn--fa-hia.test").configure_cert(context)
    server_names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    async with SimulatorServer("ok", ssl_context=context) as sim:
        base_url = f"https://fa\u00df.test:{sim.port}"
        init = deepseek_at(base_url, http={"proxy": proxy.url, "caCerts": str(ca_pem)})
        async with kestrel(sim, init=init) as ed:
            ed.open()
            assert (await ask_provider(ed)).edit is not None
    assert ed.notices == []
    assert f"CONNECT xn--fa-hia.test:{sim.port}" in await proxy.settled_requests()
    assert server_names == ["xn--fa-hia.test"] and len(sim.requests) == 1
