"""Plain-words reasons for network failures: DNS, refused, timeout, TLS, proxy.

Each reason completes the `unreachable` notice, `Kestrel: cannot reach <provider> at <origin>:
<reason>.`, so it starts in lower case (or with a name) and has no final full stop. The text of
the underlying exception is redacted before any of it is quoted.
"""

from __future__ import annotations

import re

import httpx

from kestrel_lsp.provider.http import NetworkSetupError
from kestrel_lsp.provider.routing import proxy_origin
from kestrel_lsp.secrets import redact_provider_text

TLS_NOT_TRUSTED = "TLS certificate not trusted (set kestrel.http.caCerts)"

_DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "no address associated",
    "name does not resolve",
    "errno -2]",
    "errno -3]",
    "errno -5]",
)
_STATUS_LINE = re.compile(r"^\s*(\d{3})\b\s*(.*)$")


def describe(exc: BaseException, proxy: str | None = None) -> str:
    """The reason a request failed before any HTTP answer, for the `unreachable` notice."""
    if isinstance(exc, NetworkSetupError):
        return str(exc)
    text = _chain_text(exc)
    lower = text.lower()
    if isinstance(exc, httpx.ProxyError):
        return proxy_refused_tunnel(str(exc), proxy)
    tls = tls_reason(lower, text)
    if tls is not None:
        return tls
    if proxy is not None:
        return _proxy_connection_reason(exc, lower, proxy_origin(proxy))
    if is_dns_failure(lower):
        return "DNS lookup failed (the host name does not resolve)"
    return _connection_reason(exc, lower, text)


def proxy_refused_tunnel(message: str, proxy: str | None) -> str:
    """A proxy's non-200 answer to CONNECT (httpx raises ProxyError "407 Proxy Auth...")."""
    origin = proxy_origin(proxy) if proxy else None
    match = _STATUS_LINE.match(redact_provider_text(message))
    if match is None:
        return f"{_the_proxy(origin)} failed: {_short(message)}"
    return proxy_status_reason(origin, int(match.group(1)), match.group(2).strip())


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


def tls_reason(lower: str, text: str) -> str | None:
    """The plain-words TLS failure in an exception's text, or None if it is not about TLS."""
    if "hostname mismatch" in lower or "ip address mismatch" in lower:
        return "TLS certificate is for another host name"
    if "certificate has expired" in lower:
        return "TLS certificate has expired"
    if "certificate_verify_failed" in lower or "certificate verify failed" in lower:
        return TLS_NOT_TRUSTED
    if "wrong version number" in lower or "record layer failure" in lower:
        return "TLS handshake failed (does the server speak plain HTTP? try http://)"
    if any(marker in lower for marker in ("[ssl", "sslerror", "_ssl.c", "ssl:")):
        return f"TLS handshake failed: {_short(text)}"
    return None


def is_dns_failure(lower: str) -> bool:
    return "gaierror" in lower or any(marker in lower for marker in _DNS_MARKERS)


def _proxy_connection_reason(exc: BaseException, lower: str, origin: str) -> str:
    if is_dns_failure(lower):
        return f"the proxy {origin} cannot be found (its host name does not resolve)"
    if _is_refused(lower):
        return f"the proxy {origin} refused the connection"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection to the proxy {origin} before the timeout"
    return _connection_reason(exc, lower, _chain_text(exc)) + f" (through the proxy {origin})"


def _connection_reason(exc: BaseException, lower: str, text: str) -> str:
    if _is_refused(lower):
        return "connection refused"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer before the timeout (kestrel.requestTimeoutMs)"
    if "network is unreachable" in lower or "errno 101]" in lower:
        return "network unreachable (no route to the network)"
    if "no route to host" in lower or "errno 113]" in lower:
        return "no route to the host"
    if "connection reset" in lower or "errno 104]" in lower:
        return "the connection was reset"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection was closed before a complete answer"
    return f"network error: {_short(text)}"


def _is_refused(lower: str) -> bool:
    return "connection refused" in lower or "errno 111]" in lower or "connect call failed" in lower


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 5:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return redact_provider_text(" <- ".join(parts))


def _short(text: str, limit: int = 160) -> str:
    first = redact_provider_text(text).split(" <- ")[0]
    first = first.split(": ", 1)[-1] or first
    first = first.rstrip(".")
    return first if len(first) <= limit else first[: limit - 1] + "…"
