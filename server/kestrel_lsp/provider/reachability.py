"""Can the base URL be reached? Open a connection — DNS, TCP, proxy CONNECT, TLS handshake —
and close it without sending an HTTP request. Each phase is named when it fails.

Used by the setup check; the provider's own client never needs it.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import httpcore

from kestrel_lsp.provider.http import HttpClientFactory, NetworkSetupError, Route
from kestrel_lsp.provider.network import TLS_NOT_TRUSTED, proxy_status_reason, tls_reason
from kestrel_lsp.provider.routing import Target, proxy_credentials, proxy_origin
from kestrel_lsp.secrets import redact_provider_text

Phase = Literal["setup", "dns", "tcp", "proxy", "tls"]
_MAX_HEAD = 16 * 1024


@dataclass(frozen=True)
class Reachability:
    ok: bool
    detail: str  # one sentence, plain words; on failure it starts with the phase ("DNS: …")
    failed_phase: Phase | None = None
    proxy: str | None = None  # the proxy's origin, never its credentials
    tls_verified: bool | None = None  # None for http:// targets


class _Unreachable(Exception):
    def __init__(self, phase: Phase, detail: str) -> None:
        super().__init__(detail)
        self.phase = phase
        self.detail = detail


async def check_reachable(url: str, http: HttpClientFactory, timeout_s: float) -> Reachability:
    try:
        route = http.route(url)
    except NetworkSetupError as exc:
        return Reachability(False, f"Settings: {exc}.", "setup")
    proxy = proxy_origin(route.proxy) if route.proxy else None
    try:
        detail = await _connect(route, http, timeout_s)
    except _Unreachable as failure:
        return Reachability(False, failure.detail, failure.phase, proxy)
    except NetworkSetupError as exc:  # an unreadable CA file, found when TLS needs it
        return Reachability(False, f"Settings: {exc}.", "setup", proxy)
    verified = None if route.target.scheme != "https" else not route.insecure
    return Reachability(True, detail, None, proxy, verified)


async def _connect(route: Route, http: HttpClientFactory, timeout_s: float) -> str:
    target = route.target
    if route.proxy is not None:
        hop = Target.of(route.proxy)
        hop_name = f"the proxy {proxy_origin(route.proxy)}"
    else:
        hop, hop_name = target, target.hostport
    address = await _resolve(hop, hop_name, timeout_s, proxied=route.proxy is not None)
    stream = await _open_tcp(hop, address, hop_name, timeout_s)
    try:
        through = ""
        if route.proxy is not None:
            stream = await _through_proxy(stream, route, http, timeout_s)
            through = f" through the proxy {proxy_origin(route.proxy)}"
            if target.scheme != "https":
                return (
                    f"Connected to the proxy {proxy_origin(route.proxy)}, which forwards "
                    f"http:// requests to {target.hostport} itself."
                )
        if target.scheme != "https":
            return f"Connected to {target.hostport} ({address}) over plain HTTP."
        ctx = http.tls.for_route(route)
        stream = await _start_tls(stream, ctx, target.host, timeout_s, phase="tls")
        verified = (
            "TLS NOT verified (kestrel.http.insecureHosts)" if route.insecure else "TLS verified"
        )
        return f"Connected to {target.hostport}{through}; {verified}."
    finally:
        await stream.aclose()


async def _resolve(hop: Target, hop_name: str, timeout_s: float, *, proxied: bool) -> str:
    loop = asyncio.get_running_loop()
    whose = "the proxy's host name " if proxied else ""
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(hop.host, hop.port, type=socket.SOCK_STREAM), timeout_s
        )
    except socket.gaierror:
        raise _Unreachable("dns", f"DNS: {whose}{hop.host} does not resolve.") from None
    except asyncio.TimeoutError:
        raise _Unreachable(
            "dns", f"DNS: no answer for {whose}{hop.host} within {timeout_s:g} s."
        ) from None
    if not infos:
        raise _Unreachable("dns", f"DNS: {whose}{hop.host} has no address.")
    return str(infos[0][4][0])


async def _open_tcp(
    hop: Target, address: str, hop_name: str, timeout_s: float
) -> httpcore.AsyncNetworkStream:
    try:
        return await httpcore.AnyIOBackend().connect_tcp(address, hop.port, timeout=timeout_s)
    except httpcore.ConnectTimeout:
        raise _Unreachable(
            "tcp", f"TCP: no connection to {hop_name} ({address}) within {timeout_s:g} s."
        ) from None
    except (httpcore.ConnectError, OSError) as exc:
        why = _os_reason(exc)
        detail = f"TCP: cannot connect to {hop_name} ({address}): {why}."
        raise _Unreachable("tcp", detail) from None


async def _through_proxy(
    stream: httpcore.AsyncNetworkStream, route: Route, http: HttpClientFactory, timeout_s: float
) -> httpcore.AsyncNetworkStream:
    assert route.proxy is not None
    origin = proxy_origin(route.proxy)
    if route.proxy.lower().startswith("https://"):
        proxy_host = Target.of(route.proxy).host
        stream = await _start_tls(
            stream, http.tls.verified(), proxy_host, timeout_s, phase="proxy", proxy=origin
        )
    if route.target.scheme != "https":
        return stream  # plain http goes to the proxy as a request; nothing to tunnel
    await stream.write(_connect_request(route.target, route.proxy), timeout=timeout_s)
    status, phrase = await _read_status(stream, origin, timeout_s)
    if status != 200:
        raise _Unreachable("proxy", f"Proxy: {proxy_status_reason(origin, status, phrase)}.")
    return stream


def _connect_request(target: Target, proxy: str) -> bytes:
    lines = [f"CONNECT {target.hostport} HTTP/1.1", f"Host: {target.hostport}"]
    credentials = proxy_credentials(proxy)
    if credentials is not None:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        lines.append(f"Proxy-Authorization: Basic {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_status(
    stream: httpcore.AsyncNetworkStream, origin: str, timeout_s: float
) -> tuple[int, str]:
    head = b""
    try:
        while b"\r\n\r\n" not in head and len(head) < _MAX_HEAD:
            chunk = await stream.read(4096, timeout=timeout_s)
            if not chunk:
                break
            head += chunk
    except httpcore.ReadTimeout:
        raise _Unreachable(
            "proxy", f"Proxy: {origin} did not answer CONNECT within {timeout_s:g} s."
        ) from None
    except httpcore.ReadError:
        raise _Unreachable("proxy", f"Proxy: {origin} closed the connection.") from None
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise _Unreachable("proxy", f"Proxy: {origin} did not answer CONNECT like an HTTP proxy.")
    return int(parts[1]), parts[2].strip() if len(parts) > 2 else ""


async def _start_tls(
    stream: httpcore.AsyncNetworkStream,
    ctx: ssl.SSLContext,
    host: str,
    timeout_s: float,
    *,
    phase: Phase,
    proxy: str | None = None,
) -> httpcore.AsyncNetworkStream:
    whose = f" with the proxy {proxy}" if proxy else ""
    try:
        return await stream.start_tls(ctx, server_hostname=host, timeout=timeout_s)
    except httpcore.ConnectTimeout:
        raise _Unreachable(phase, f"TLS: no handshake{whose} within {timeout_s:g} s.") from None
    except httpcore.ConnectError as exc:
        text = _quoted(exc)
        reason = tls_reason(text.lower(), text) or f"TLS handshake failed: {text}"
        raise _Unreachable(phase, f"{reason}{whose}.") from None


def _os_reason(exc: BaseException) -> str:
    """The OS's own reason, found under anyio's "All connection attempts failed"."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, OSError) and cause.errno is not None and cause.strerror:
            return cause.strerror.lower()
    return _quoted(exc)


def _causes(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    if depth > 5:
        return
    yield exc
    for inner in getattr(exc, "exceptions", ()):  # an exception group
        yield from _causes(inner, depth + 1)
    if exc.__cause__ is not None:
        yield from _causes(exc.__cause__, depth + 1)


def _quoted(exc: BaseException) -> str:
    text = redact_provider_text(str(exc)).strip().rstrip(".")
    return text[:160] or type(exc).__name__


__all__ = ["TLS_NOT_TRUSTED", "Reachability", "check_reachable"]
