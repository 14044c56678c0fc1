"""Plain-words reasons for network failures (DNS, refused, timeout, TLS, proxy)."""

from __future__ import annotations

import httpx

from kestrel_lsp.provider.presets import origin_of
from kestrel_lsp.secrets import redact_provider_text


def describe(exc: BaseException, proxy: str | None = None) -> str:
    text = _chain_text(exc)
    lower = text.lower()
    via = f" (via proxy {origin_of(proxy)})" if proxy else ""
    if isinstance(exc, httpx.ProxyError) or ("407" in lower and "proxy" in lower):
        where = f" {origin_of(proxy)}" if proxy else ""
        return f"the proxy{where} failed ({_short(text)})"
    if "certificate_verify_failed" in lower or "certificate verify failed" in lower:
        return "TLS certificate not trusted (set kestrel.http.caCerts)" + via
    if isinstance(exc, httpx.ConnectError) and ("ssl" in lower or "tls" in lower):
        return f"TLS handshake failed: {_short(text)}" + via
    if any(
        marker in lower
        for marker in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo",
            "temporary failure in name resolution",
            "no address associated",
        )
    ):
        return "DNS lookup failed (the host name does not resolve)" + via
    if "connection refused" in lower or "errno 111" in lower:
        return "connection refused" + via
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out" + via
    if isinstance(exc, httpx.TimeoutException):
        return "no answer before the timeout (kestrel.requestTimeoutMs)" + via
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection was closed before a complete answer" + via
    return f"network error: {_short(text)}" + via


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 5:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return redact_provider_text(" <- ".join(parts))


def _short(text: str, limit: int = 160) -> str:
    first = text.split(" <- ")[0]
    first = first.split(": ", 1)[-1] or first
    return first if len(first) <= limit else first[: limit - 1] + "…"
