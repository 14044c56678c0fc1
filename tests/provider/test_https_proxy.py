"""An https:// proxy (TLS to the proxy itself): http targets go to it in absolute form with the
proxy's Basic credentials, https targets through a CONNECT tunnel with TLS inside its TLS. The
proxy is a small one written here, on 127.0.0.1, that knows `sim.kestrel.test`."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys

import pytest

from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.errors import NetworkSetupError, ProxyRefused
from kestrel_lsp.provider.transport.http11 import HttpRequest
from kestrel_lsp.provider.transport.pool import HttpTransport
from kestrel_lsp.simulator.server import SimulatorServer

from net_helpers import MAPPED_HOST, PROXY_CANARY, PROXY_USER, TlsFiles
from raw_http import Peer, RawServer, http_response

CHAT = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
HEADERS = {"Authorization": "Bearer sk-proxy-test-0123", "Content-Type": "application/json"}


class TlsProxy:
    """CONNECT tunnels to 127.0.0.1 and absolute-form requests (answered by the proxy itself),
    each recorded with the credentials it came with."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    async def handle(self, peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        head = request.split(b"\r\n\r\n", 1)[0].decode()
        line, *header_lines = head.split("\r\n")
        headers = dict(h.split(": ", 1) for h in header_lines)
        self.seen.append((line, headers.get("Proxy-Authorization")))
        method, target, _ = line.split(" ")
        if headers.get("Proxy-Authorization") != basic(PROXY_USER, PROXY_CANARY):
            await peer.send(http_response(b"", status="407 Proxy Authentication Required"))
            return
        if method != "CONNECT":
            await peer.send(http_response(b'{"via": "proxy"}'))
            return
        port = int(target.rsplit(":", 1)[1])
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        await peer.send(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(peer.reader, upstream_writer), pipe(upstream_reader, peer.writer))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def send(http: HttpTransport, url: str) -> tuple[int, bytes]:
    response = await http.send(HttpRequest("POST", url, HEADERS, CHAT))
    try:
        return response.status, await response.read()
    finally:
        await response.aclose()


def settings_for(proxy: RawServer, tls_files: TlsFiles, password: str) -> NetworkSettings:
    url = f"https://{PROXY_USER}:{password}@127.0.0.1:{proxy.port}"
    return NetworkSettings(proxy=url, ca_certs=str(tls_files.ca_pem), env={})


async def test_an_http_target_goes_to_an_https_proxy_in_absolute_form(tls_files: TlsFiles) -> None:
    proxy = TlsProxy()
    async with RawServer(proxy.handle, ssl_context=tls_files.server_context()) as server:
        http = HttpTransport(settings_for(server, tls_files, PROXY_CANARY))
        status, body = await send(http, f"http://{MAPPED_HOST}:8000/v1/chat/completions")
        await http.aclose()
    assert (status, body) == (200, b'{"via": "proxy"}')
    assert proxy.seen == [
        (
            f"POST http://{MAPPED_HOST}:8000/v1/chat/completions HTTP/1.1",
            basic(PROXY_USER, PROXY_CANARY),
        )
    ]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TLS inside TLS needs Python 3.11")
async def test_an_https_target_tunnels_through_an_https_proxy(
    tls_files: TlsFiles, tls_sim: SimulatorServer
) -> None:
    proxy = TlsProxy()
    async with RawServer(proxy.handle, ssl_context=tls_files.server_context()) as server:
        http = HttpTransport(settings_for(server, tls_files, PROXY_CANARY))
        url = f"https://{MAPPED_HOST}:{tls_sim.port}/chat/completions"
        status, body = await send(http, url)
        await http.aclose()
    assert status == 200 and json.loads(body)["choices"]
    assert proxy.seen == [
        (f"CONNECT {MAPPED_HOST}:{tls_sim.port} HTTP/1.1", basic(PROXY_USER, PROXY_CANARY))
    ]
    assert len(tls_sim.requests) == 1


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="Python 3.10 only")
async def test_on_python_3_10_tls_inside_an_https_proxy_is_a_setup_error(
    tls_files: TlsFiles, tls_sim: SimulatorServer
) -> None:
    async with RawServer(TlsProxy().handle, ssl_context=tls_files.server_context()) as server:
        http = HttpTransport(settings_for(server, tls_files, PROXY_CANARY))
        with pytest.raises(NetworkSetupError) as err:
            await send(http, f"https://{MAPPED_HOST}:{tls_sim.port}/chat/completions")
        await http.aclose()
    assert "Python 3.11" in str(err.value)


async def test_wrong_proxy_credentials_are_a_407_naming_the_proxy(
    tls_files: TlsFiles, tls_sim: SimulatorServer
) -> None:
    proxy = TlsProxy()
    async with RawServer(proxy.handle, ssl_context=tls_files.server_context()) as server:
        http = HttpTransport(settings_for(server, tls_files, "wrong-password"))
        with pytest.raises(ProxyRefused) as refused:
            await send(http, f"https://{MAPPED_HOST}:{tls_sim.port}/chat/completions")
        await http.aclose()
    assert refused.value.status == 407
    assert refused.value.proxy == f"https://127.0.0.1:{server.port}"
    assert tls_sim.requests == []
