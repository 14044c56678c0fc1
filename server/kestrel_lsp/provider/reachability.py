"""Can the base URL be reached? Open a connection — DNS, TCP, proxy, TLS handshake — through
the same code as every request, and close it without sending an HTTP request. Each phase is
named when it fails. Used by the setup check; the provider's own client never needs it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from kestrel_lsp.provider.network import proxy_status_reason, tls_reason
from kestrel_lsp.provider.routing import Route, Target, proxy_origin
from kestrel_lsp.provider.transport.connect import Opened, open_connection
from kestrel_lsp.provider.transport.errors import (
    ConnectFailure,
    DeadlineExceeded,
    DnsFailure,
    NetworkSetupError,
    ProxyRefused,
    TlsFailure,
    TransportError,
)
from kestrel_lsp.provider.transport.pool import TransportFactory
from kestrel_lsp.secrets import redact_provider_text

Phase = Literal["setup", "dns", "tcp", "proxy", "tls"]


@dataclass(frozen=True)
class Reachability:
    ok: bool
    detail: str  # one sentence, plain words; on failure it starts with the phase ("DNS: …")
    failed_phase: Phase | None = None
    proxy: str | None = None  # the proxy's origin, never its credentials
    tls_verified: bool | None = None  # None for http:// targets


async def check_reachable(url: str, http: TransportFactory, timeout_s: float) -> Reachability:
    try:
        route = http.route(url)
    except NetworkSetupError as exc:
        return Reachability(False, f"Settings: {exc.detail}.", "setup")
    proxy = proxy_origin(route.proxy) if route.proxy else None
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        opened = await open_connection(route, http.tls, deadline=deadline, resolve=http.resolve)
    except NetworkSetupError as exc:  # an unreadable CA file, found when TLS needs it
        return Reachability(False, f"Settings: {exc.detail}.", "setup", proxy)
    except TransportError as exc:
        phase: Phase = exc.phase if exc.phase != "response" else "tcp"
        detail = redact_provider_text(_failure(exc, route, timeout_s))
        return Reachability(False, detail, phase, proxy)
    opened.socket.close()
    verified = None if route.target.scheme != "https" else not route.insecure
    return Reachability(True, _success(route, opened), None, proxy, verified)


def _success(route: Route, opened: Opened) -> str:
    target = route.target
    if route.proxy is not None:
        through = f"the proxy {proxy_origin(route.proxy)}"
        if target.scheme != "https":
            return (
                f"Connected to {through}, which forwards http:// requests to "
                f"{target.hostport} itself."
            )
    if target.scheme != "https":
        return f"Connected to {target.hostport} ({opened.address}) over plain HTTP."
    verified = "TLS NOT verified (kestrel.http.insecureHosts)" if route.insecure else "TLS verified"
    through = f" through the proxy {proxy_origin(route.proxy)}" if route.proxy else ""
    return f"Connected to {target.hostport}{through}; {verified}."


def _failure(exc: TransportError, route: Route, timeout_s: float) -> str:
    via = exc.proxy
    hop = Target.of(route.proxy) if route.proxy else route.target
    hop_name = f"the proxy {via}" if via else hop.hostport
    whose = "the proxy's host name " if via else ""
    if isinstance(exc, DnsFailure):
        return f"DNS: {whose}{hop.host} does not resolve."
    if isinstance(exc, DeadlineExceeded):
        if exc.phase == "dns":
            return f"DNS: no answer for {whose}{hop.host} within {timeout_s:g} s."
        if exc.phase == "tcp":
            return f"TCP: no connection to {hop_name} within {timeout_s:g} s."
        if exc.phase == "proxy":
            return f"Proxy: {via or 'the proxy'} did not answer CONNECT within {timeout_s:g} s."
        with_proxy = f" with the proxy {via}" if via else ""
        return f"TLS: no handshake{with_proxy} within {timeout_s:g} s."
    if isinstance(exc, ConnectFailure):
        return f"TCP: cannot connect to {hop_name} ({exc.address}): {exc.detail}."
    if isinstance(exc, ProxyRefused):
        return f"Proxy: {proxy_status_reason(via, exc.status, exc.phrase)}."
    if isinstance(exc, TlsFailure):
        return tls_reason(exc) + (f" with the proxy {via}." if via else ".")
    if exc.phase == "proxy":
        return f"Proxy: {via or 'the proxy'} {exc.detail}."
    return f"{exc.phase.upper()}: {exc.detail}."


__all__ = ["Reachability", "check_reachable"]
