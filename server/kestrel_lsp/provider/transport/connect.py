"""Opening a connection, phase by phase: DNS, TCP, the proxy (its own TLS for an https://
proxy, then CONNECT for an https:// target), and TLS with the target. The pool and the setup
check's reachability step both open connections here, so a failure reads the same in both."""

from __future__ import annotations

import asyncio
import base64
import errno
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11

from kestrel_lsp.provider.routing import Route, Target, proxy_credentials, proxy_origin
from kestrel_lsp.provider.transport.errors import (
    ConnectCause,
    ConnectFailure,
    ConnectionClosed,
    DeadlineExceeded,
    DnsFailure,
    MalformedReply,
    ProxyRefused,
)
from kestrel_lsp.provider.transport.stream import Socket, within
from kestrel_lsp.provider.transport.tls import TlsContexts

Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_PROXY_HEAD = 16 * 1024


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class Opened:
    """A connection ready for HTTP to the target. `absolute_form`: an http:// target through a
    proxy, where each request line carries the whole URL (and `proxy_authorization`)."""

    socket: Socket
    address: str  # the IP address of the first hop
    proxy: str | None = None  # the proxy's origin, when there is one
    absolute_form: bool = False
    proxy_authorization: str | None = field(default=None, repr=False)


async def open_connection(
    route: Route, tls: TlsContexts, *, deadline: float, resolve: Resolver
) -> Opened:
    target = route.target
    via = proxy_origin(route.proxy) if route.proxy else None
    hop = Target.of(route.proxy) if route.proxy else target
    # The contexts first: an unreadable CA file is a settings error, whatever the network does.
    hop_tls = tls.verified() if route.proxy and hop.scheme == "https" else None
    target_tls = tls.context(insecure=route.insecure) if target.scheme == "https" else None
    addresses = await _resolve(hop, deadline, resolve, via)
    sock, address = await _tcp(hop, addresses, deadline, via)
    try:
        if route.proxy is not None:
            if hop_tls is not None:
                await sock.start_tls(hop_tls, hop.host, deadline, phase="proxy", proxy=via)
            authorization = _proxy_authorization(route.proxy)
            if target.scheme != "https":
                return Opened(sock, address, via, True, authorization)
            await _tunnel(sock, target, authorization, deadline, via)
        if target_tls is not None:
            await sock.start_tls(target_tls, target.host, deadline, phase="tls", proxy=None)
    except BaseException:
        sock.abort()
        raise
    return Opened(sock, address, via)


async def _resolve(hop: Target, deadline: float, resolve: Resolver, via: str | None) -> list[str]:
    try:
        ipaddress.ip_address(hop.host)
    except ValueError:
        pass
    else:
        return [hop.host]  # an address needs no lookup
    try:
        addresses = await within(resolve(hop.host, hop.port), deadline, "dns", via)
    except (socket.gaierror, UnicodeError):
        raise DnsFailure(hop.host, proxy=via) from None
    if not addresses:
        raise DnsFailure(hop.host, proxy=via)
    return addresses


async def _tcp(
    hop: Target, addresses: list[str], deadline: float, via: str | None
) -> tuple[Socket, str]:
    loop = asyncio.get_running_loop()
    failure: ConnectFailure | None = None
    for address in addresses:
        try:
            _, sock = await within(
                loop.create_connection(Socket, address, hop.port), deadline, "tcp", via
            )
        except OSError as exc:
            failure = ConnectFailure(*_os_cause(exc), address=address, proxy=via)
            continue
        return sock, address
    assert failure is not None
    raise failure


def _os_cause(exc: OSError) -> tuple[ConnectCause, str]:
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "reset", "the connection was reset"
    if exc.errno == errno.ENETUNREACH:
        return "network-unreachable", "network unreachable (no route to the network)"
    if exc.errno == errno.EHOSTUNREACH:
        return "no-route", "no route to the host"
    return "other", (exc.strerror or type(exc).__name__).lower()


def _proxy_authorization(proxy: str) -> str | None:
    credentials = proxy_credentials(proxy)
    if credentials is None:
        return None
    token = base64.b64encode(":".join(credentials).encode()).decode("ascii")
    return f"Basic {token}"


async def _tunnel(
    sock: Socket, target: Target, authorization: str | None, deadline: float, via: str | None
) -> None:
    """CONNECT through the proxy; returns when the tunnel to `target` is open."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_PROXY_HEAD)
    headers = [("Host", target.hostport)]
    if authorization:
        headers.append(("Proxy-Authorization", authorization))
    request = h11.Request(method="CONNECT", target=target.hostport, headers=headers)
    sock.write(conn.send(request) + conn.send(h11.EndOfMessage()))
    sock.set_deadline(deadline)
    eof = False
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await sock.read()
                eof = not data
                conn.receive_data(data)
            elif not isinstance(event, h11.InformationalResponse):
                break
    except h11.RemoteProtocolError:
        if eof:
            raise ConnectionClosed("closed the connection", phase="proxy", proxy=via) from None
        raise MalformedReply(
            "did not answer CONNECT like an HTTP proxy", phase="proxy", proxy=via
        ) from None
    except DeadlineExceeded as exc:
        exc.phase, exc.proxy = "proxy", via
        raise
    finally:
        sock.clear_deadline()
    if not isinstance(event, h11.Response):
        raise ConnectionClosed("closed the connection", phase="proxy", proxy=via)
    if not 200 <= event.status_code < 300:
        phrase = event.reason.decode("latin-1", "replace")[:80]
        raise ProxyRefused(event.status_code, phrase, proxy=via)
    if conn.trailing_data[0]:
        raise MalformedReply("sent bytes before the tunnel opened", phase="proxy", proxy=via)
