"""Transport failures, typed by the phase they happened in and their cause.

The message of each is plain words built by Kestrel (a host, a port, an OS reason): never a
header value, a body or an exception text from the peer. Callers classify by type and fields.
"""

from __future__ import annotations

from typing import Literal

Phase = Literal["setup", "dns", "tcp", "proxy", "tls", "response"]
TlsKind = Literal["untrusted", "hostname", "expired", "plain-http", "other"]
ConnectCause = Literal["refused", "network-unreachable", "no-route", "reset", "other"]


class TransportError(Exception):
    """A request failed before a complete HTTP answer. `proxy` is the proxy's origin (never its
    credentials) when the failing hop was a proxy."""

    phase: Phase = "response"

    def __init__(self, detail: str, *, phase: Phase | None = None, proxy: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if phase is not None:
            self.phase = phase
        self.proxy = proxy


class NetworkSetupError(TransportError):
    """The network settings cannot be used (a bad proxy URL, an unreadable CA file, a header
    value with a control character). Not worth retrying; the message names no secret."""

    phase: Phase = "setup"


class DnsFailure(TransportError):
    phase: Phase = "dns"

    def __init__(self, host: str, *, proxy: str | None = None) -> None:
        super().__init__(f"{host} does not resolve", proxy=proxy)
        self.host = host


class ConnectFailure(TransportError):
    phase: Phase = "tcp"

    def __init__(
        self, cause: ConnectCause, reason: str, *, address: str = "", proxy: str | None = None
    ) -> None:
        super().__init__(reason, proxy=proxy)
        self.cause = cause
        self.address = address


class TlsFailure(TransportError):
    phase: Phase = "tls"

    def __init__(self, kind: TlsKind, reason: str, *, proxy: str | None = None) -> None:
        super().__init__(reason, proxy=proxy)
        self.kind = kind


class ProxyRefused(TransportError):
    """The proxy answered CONNECT (or an absolute-form request) with this status."""

    phase: Phase = "proxy"

    def __init__(self, status: int, phrase: str, *, proxy: str | None) -> None:
        super().__init__(f"HTTP {status} {phrase}".strip(), proxy=proxy)
        self.status = status
        self.phrase = phrase


class DeadlineExceeded(TransportError):
    """The attempt's total time (`requestTimeoutMs`) ran out in `phase`."""


class ConnectionClosed(TransportError):
    """The peer closed or reset the connection before the answer was complete."""

    def __init__(
        self,
        detail: str,
        *,
        reset: bool = False,
        phase: Phase | None = None,
        proxy: str | None = None,
    ) -> None:
        super().__init__(detail, phase=phase, proxy=proxy)
        self.reset = reset


class MalformedReply(TransportError):
    """Bytes that are not valid HTTP/1.1 (status line, headers, framing, encoding)."""


class BodyTooLarge(TransportError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the reply is larger than {limit // (1024 * 1024)} MiB")
        self.limit = limit
