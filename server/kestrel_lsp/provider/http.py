"""Building the HTTP client: proxy routing, trust store plus extra CAs, per-host insecure TLS.

Redirects are never followed (a redirect must never carry the key to another origin).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import httpx

from kestrel_lsp.provider.direct import DirectTransport
from kestrel_lsp.secrets import SECRETS

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


@dataclass(frozen=True)
class NetworkSettings:
    proxy: str | None = None
    no_proxy: tuple[str, ...] = ()
    ca_certs: str | None = None
    insecure_hosts: tuple[str, ...] = ()
    timeout_s: float = 30.0
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), compare=False)


def _env(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or env.get(name.lower()) or None


def proxy_for(url: httpx.URL, settings: NetworkSettings) -> str | None:
    """The proxy URL a request to `url` goes through, or None for a direct connection."""
    host = url.host
    if is_loopback(host) or _bypassed(host, url.port, settings):
        return None
    if settings.proxy:
        return settings.proxy
    env = settings.env
    if url.scheme == "https":
        return _env(env, "HTTPS_PROXY") or _env(env, "ALL_PROXY")
    return _env(env, "HTTP_PROXY") or _env(env, "ALL_PROXY")


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _no_proxy_entries(settings: NetworkSettings) -> list[str]:
    entries = list(settings.no_proxy)
    env_value = _env(settings.env, "NO_PROXY")
    if env_value:
        entries += [e.strip() for e in env_value.split(",")]
    return [e.lower() for e in entries if e]


def _bypassed(host: str, port: int | None, settings: NetworkSettings) -> bool:
    host = host.strip("[]").lower()
    for entry in _no_proxy_entries(settings):
        if entry == "*":
            return True
        entry_host, _, entry_port = (
            entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        )
        if entry_port and port is not None and entry_port != str(port):
            continue
        if "/" in entry_host:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
            continue
        suffix = entry_host.lstrip("*").lstrip(".")
        if host == suffix or host.endswith("." + suffix):
            return True
    return False


def host_matches(host: str, patterns: Sequence[str]) -> bool:
    host = host.strip("[]").lower()
    return any(host == p.lower().strip("[]") for p in patterns)


class RoutingTransport(httpx.AsyncBaseTransport):
    """Chooses, per request, direct or through the proxy, verified or (listed hosts) not."""

    def __init__(
        self, settings: NetworkSettings, verify: ssl.SSLContext | Callable[[], ssl.SSLContext]
    ) -> None:
        self._settings = settings
        self._verify = verify
        self._transports: dict[tuple[str | None, bool], httpx.AsyncBaseTransport] = {}

    def _transport(self, proxy: str | None, insecure: bool) -> httpx.AsyncBaseTransport:
        key = (proxy, insecure)
        if key not in self._transports:
            if proxy is None:
                # Direct: Kestrel's lean HTTP/1.1 transport; it builds the TLS context on its
                # first https request, so plain-http use never loads the trust store.
                self._transports[key] = DirectTransport(False if insecure else self._verify)
            else:
                verify: ssl.SSLContext | bool = False
                if not insecure:
                    verify = (
                        self._verify
                        if isinstance(self._verify, ssl.SSLContext)
                        else (self._verify())
                    )
                self._transports[key] = httpx.AsyncHTTPTransport(
                    verify=verify, proxy=httpx.Proxy(proxy), retries=0
                )
        return self._transports[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy = proxy_for(request.url, self._settings)
        insecure = host_matches(request.url.host, self._settings.insecure_hosts)
        response = await self._transport(proxy, insecure).handle_async_request(request)
        response.extensions = {**response.extensions, "kestrel_proxy": proxy}
        return response

    async def aclose(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()


def trust_context(settings: NetworkSettings) -> ssl.SSLContext:
    """The system trust store, plus SSL_CERT_FILE / REQUESTS_CA_BUNDLE and `http.caCerts`."""
    import truststore

    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for extra in (
        settings.env.get("SSL_CERT_FILE"),
        settings.env.get("REQUESTS_CA_BUNDLE"),
        settings.ca_certs,
    ):
        if extra:
            ctx.load_verify_locations(cafile=os.path.expanduser(extra))
    return ctx


class HttpClientFactory:
    """Makes `httpx.AsyncClient`s that share settings and TLS context but not connections."""

    def __init__(
        self,
        settings: NetworkSettings,
        transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self.settings = settings
        self._transport_factory = transport_factory
        if settings.proxy:
            password = httpx.URL(settings.proxy).password
            SECRETS.add(password)

    @cached_property
    def _verify(self) -> ssl.SSLContext:
        return trust_context(self.settings)

    def new_client(self) -> httpx.AsyncClient:
        transport = (
            self._transport_factory()
            if self._transport_factory
            else RoutingTransport(self.settings, lambda: self._verify)
        )
        return httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(self.settings.timeout_s),
            follow_redirects=False,
            trust_env=False,
        )
