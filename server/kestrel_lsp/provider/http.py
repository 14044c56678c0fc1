"""Building the HTTP client: proxy routing, trust store plus extra CAs, per-host insecure TLS.

Redirects are never followed (a redirect must never carry the key to another origin). The
routing rules live in `routing`; this module turns them into httpx transports.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from kestrel_lsp.provider.direct import DirectTransport, insecure_context
from kestrel_lsp.provider.routing import (
    NetworkSettings,
    ProxyUrlError,
    Target,
    is_insecure_host,
    normalise_proxy_url,
    proxy_for,
    proxy_secrets,
)
from kestrel_lsp.secrets import SECRETS


class NetworkSetupError(Exception):
    """The network settings cannot be used (a bad proxy URL, an unreadable CA file).

    Not worth retrying: the message is the reason for the `unreachable` notice, in plain words,
    and names no secret."""


def trust_context(settings: NetworkSettings) -> ssl.SSLContext:
    """The system trust store, plus SSL_CERT_FILE / REQUESTS_CA_BUNDLE and `http.caCerts`."""
    import truststore

    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for source, path in extra_ca_files(settings):
        try:
            ctx.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise NetworkSetupError(f"{source} ({path}) {_unreadable_pem(exc)}") from None
    return ctx


def extra_ca_files(settings: NetworkSettings) -> list[tuple[str, str]]:
    """(where it was set, path) of each extra CA file, in load order."""
    files = []
    for source, value in (
        ("SSL_CERT_FILE", settings.env.get("SSL_CERT_FILE")),
        ("REQUESTS_CA_BUNDLE", settings.env.get("REQUESTS_CA_BUNDLE")),
        ("kestrel.http.caCerts", settings.ca_certs),
    ):
        if value:
            files.append((source, os.path.expanduser(value)))
    return files


def _unreadable_pem(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied)"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a PEM file"
    return "holds no PEM certificate Kestrel can load"


class TlsContexts:
    """The verifying context (built once, on first use) and the insecure one."""

    def __init__(self, settings: NetworkSettings) -> None:
        self._settings = settings
        self._verified: ssl.SSLContext | None = None
        self._insecure: ssl.SSLContext | None = None

    def verified(self) -> ssl.SSLContext:
        if self._verified is None:
            self._verified = trust_context(self._settings)
        return self._verified

    def insecure(self) -> ssl.SSLContext:
        if self._insecure is None:
            self._insecure = insecure_context()
        return self._insecure

    def for_route(self, route: Route) -> ssl.SSLContext:
        return self.insecure() if route.insecure else self.verified()


class RoutingTransport(httpx.AsyncBaseTransport):
    """Chooses, per request, direct or through the proxy, verified or (listed hosts) not."""

    def __init__(self, settings: NetworkSettings, tls: TlsContexts) -> None:
        self._settings = settings
        self._tls = tls
        self._transports: dict[tuple[str | None, bool], httpx.AsyncBaseTransport] = {}

    def _transport(self, route: Route) -> httpx.AsyncBaseTransport:
        key = (route.proxy, route.insecure)
        if key not in self._transports:
            if route.proxy is None:
                # Direct: Kestrel's lean HTTP/1.1 transport (provider/direct.py). It asks for
                # the TLS context on its first https request: plain http never loads the
                # trust store.
                tls = self._tls.insecure if route.insecure else self._tls.verified
                self._transports[key] = DirectTransport(tls)
            else:
                self._transports[key] = httpx.AsyncHTTPTransport(
                    verify=self._tls.for_route(route),
                    proxy=self._proxy(route.proxy),
                    retries=0,
                )
        return self._transports[key]

    def _proxy(self, url: str) -> httpx.Proxy:
        # An https:// proxy's own certificate is checked against the same trust as providers.
        tls = self._tls.verified() if url.startswith("https://") else None
        return httpx.Proxy(url, ssl_context=tls)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = Route.of(str(request.url), self._settings)
        return await self._transport(route).handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()


def usable_proxy_for(url: str, settings: NetworkSettings) -> str | None:
    """`proxy_for`, normalised; a proxy URL that cannot be used raises NetworkSetupError."""
    proxy = proxy_for(url, settings)
    if proxy is None:
        return None
    try:
        return normalise_proxy_url(proxy)
    except ProxyUrlError as exc:
        raise NetworkSetupError(str(exc)) from None


class HttpClientFactory:
    """Makes `httpx.AsyncClient`s that share settings and TLS contexts but not connections."""

    def __init__(
        self,
        settings: NetworkSettings,
        transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self.settings = settings
        self.tls = TlsContexts(settings)
        self._transport_factory = transport_factory
        for secret in proxy_secrets(settings):
            SECRETS.add(secret)

    def route(self, url: str) -> Route:
        return Route.of(url, self.settings)

    def new_client(self) -> httpx.AsyncClient:
        transport = (
            self._transport_factory()
            if self._transport_factory
            else RoutingTransport(self.settings, self.tls)
        )
        return httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(self.settings.timeout_s),
            follow_redirects=False,
            trust_env=False,
        )


@dataclass(frozen=True)
class Route:
    """How one URL is reached: its target, the proxy (normalised) if any, verified TLS or not."""

    target: Target
    proxy: str | None = field(repr=False)
    insecure: bool

    @classmethod
    def of(cls, url: str, settings: NetworkSettings) -> Route:
        target = Target.of(url)
        insecure = target.scheme == "https" and is_insecure_host(
            target.host, settings.insecure_hosts
        )
        return cls(target, usable_proxy_for(url, settings), insecure)


__all__ = [
    "HttpClientFactory",
    "NetworkSettings",
    "NetworkSetupError",
    "Route",
    "RoutingTransport",
    "TlsContexts",
    "trust_context",
]
