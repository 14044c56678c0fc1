"""Plain-words reasons for transport failures: DNS, refused, timeout, TLS, proxy.

Classified by the failure's type and fields (see `transport.errors`), never by its text. Each
reason completes the `unreachable` notice, `Kestrel: cannot reach <provider> at <origin>:
<reason>.`, so it starts in lower case (or with a name) and has no final full stop.
"""

from __future__ import annotations

from kestrel_lsp.provider.transport.errors import (
    ConnectCause,
    ConnectFailure,
    ConnectionClosed,
    DeadlineExceeded,
    DnsFailure,
    MalformedReply,
    NetworkSetupError,
    ProxyRefused,
    TlsFailure,
    TlsKind,
    TransportError,
)

TLS_NOT_TRUSTED = "TLS certificate not trusted (set kestrel.http.caCerts)"
_TLS_REASONS: dict[TlsKind, str] = {
    "untrusted": TLS_NOT_TRUSTED,
    "hostname": "TLS certificate is for another host name",
    "expired": "TLS certificate has expired",
    "plain-http": "TLS handshake failed (does the server speak plain HTTP? try http://)",
}
_CONNECT_REASONS: dict[ConnectCause, str] = {
    "refused": "connection refused",
    "reset": "the connection was reset",
    "network-unreachable": "network unreachable (no route to the network)",
    "no-route": "no route to the host",
}
MALFORMED = "the provider's reply was malformed"


def tls_reason(failure: TlsFailure) -> str:
    return _TLS_REASONS.get(failure.kind) or f"TLS handshake failed: {failure.detail}"


def describe(exc: TransportError) -> str:
    """The reason a request failed before a complete HTTP answer, for the notice."""
    proxy = exc.proxy
    if isinstance(exc, NetworkSetupError):
        return exc.detail
    if isinstance(exc, ProxyRefused):
        return proxy_status_reason(proxy, exc.status, exc.phrase)
    if isinstance(exc, TlsFailure):
        return tls_reason(exc) + (f" (the proxy {proxy})" if proxy else "")
    if isinstance(exc, DnsFailure):
        if proxy:
            return f"the proxy {proxy} cannot be found (its host name does not resolve)"
        return "DNS lookup failed (the host name does not resolve)"
    if isinstance(exc, ConnectFailure):
        if proxy and exc.cause == "refused":
            return f"the proxy {proxy} refused the connection"
        reason = _CONNECT_REASONS.get(exc.cause) or exc.detail
        return reason + (f" (through the proxy {proxy})" if proxy else "")
    if isinstance(exc, DeadlineExceeded):
        if exc.phase in ("dns", "tcp"):
            return (
                f"no connection to the proxy {proxy} before the timeout"
                if proxy
                else ("connection timed out")
            )
        if exc.phase in ("tls", "proxy"):
            return "connection timed out" + (f" (through the proxy {proxy})" if proxy else "")
        return "no answer before the timeout (kestrel.requestTimeoutMs)"
    if exc.phase == "proxy" and isinstance(exc, ConnectionClosed | MalformedReply):
        return f"{_the_proxy(proxy)} {exc.detail}"
    if isinstance(exc, ConnectionClosed):
        return (
            "the connection was reset"
            if exc.reset
            else ("the connection was closed before a complete answer")
        )
    if isinstance(exc, MalformedReply):
        return f"{MALFORMED} ({exc.detail})"
    return exc.detail


def _the_proxy(origin: str | None) -> str:
    return f"the proxy {origin}" if origin else "the proxy"


def proxy_status_reason(origin: str | None, status: int, phrase: str = "") -> str:
    """`origin` is the proxy's origin (never its credentials), None when unknown."""
    answered = f"{_the_proxy(origin)} answered HTTP {status}" + (f" {phrase}" if phrase else "")
    if status == 407:
        return (
            f"{answered} (it wants a user and password: put them in the proxy URL, "
            "http://user:password@host:port)"
        )
    return f"{answered} when asked to connect to the host"
