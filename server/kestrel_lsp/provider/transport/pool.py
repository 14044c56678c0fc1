"""`HttpTransport`: keep-alive connections per origin, at most 16 in flight per origin (more
requests queue for a slot), a pool that can be retired, and each attempt's total deadline.

A connection is in flight from the moment a request takes its slot until its response is
closed; idle ones wait in the current pool and are retired at the first byte that arrives
unasked. `fresh=True` opens a new connection whatever is idle (the retry rule for 401/403).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from kestrel_lsp.provider.routing import NetworkSettings, Route, proxy_secrets
from kestrel_lsp.provider.transport.connect import Resolver, open_connection, system_resolver
from kestrel_lsp.provider.transport.errors import ConnectionClosed
from kestrel_lsp.provider.transport.http11 import (
    Connection,
    HttpRequest,
    HttpResponse,
    Response,
    check_headers,
)
from kestrel_lsp.provider.transport.tls import TlsContexts
from kestrel_lsp.secrets import SECRETS

MAX_CONNECTIONS_PER_ORIGIN = 16
_Origin = tuple[str, str, int, "str | None", bool]  # scheme, host, port, proxy, insecure


class Transport(Protocol):
    """What the provider client needs from a transport (tests give it a fake)."""

    async def send(self, request: HttpRequest, *, fresh: bool = False) -> Response: ...

    def retire_pool(self) -> None: ...

    async def aclose(self) -> None: ...


class _Pool:
    def __init__(self) -> None:
        self.idle: dict[_Origin, list[Connection]] = {}
        self.retired = False

    def checkout(self, origin: _Origin) -> Connection | None:
        idle = self.idle.get(origin)
        while idle:
            connection = idle.pop()
            connection.socket.idle = False
            if connection.reusable():
                return connection
            connection.close()
        return None

    def put(self, origin: _Origin, connection: Connection) -> None:
        idle = self.idle.setdefault(origin, [])
        if len(idle) >= MAX_CONNECTIONS_PER_ORIGIN:
            idle.pop(0).close()
        connection.socket.idle = True
        idle.append(connection)

    def retire(self) -> None:
        self.retired = True
        for idle in self.idle.values():
            for connection in idle:
                connection.close()
        self.idle.clear()


class HttpTransport:
    def __init__(
        self,
        settings: NetworkSettings,
        tls: TlsContexts | None = None,
        *,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.tls = tls or TlsContexts(settings)
        self._resolve = resolve
        self._routes: dict[str, Route] = {}
        self._slots: dict[_Origin, asyncio.Semaphore] = {}
        self._pool = _Pool()
        self._active: dict[Connection, _Pool] = {}
        self._closed = False
        self.connections_opened = 0

    def route(self, url: str) -> Route:
        route = self._routes.get(url)
        if route is None:
            route = self._routes[url] = Route.of(url, self.settings)
        return route

    async def send(self, request: HttpRequest, *, fresh: bool = False) -> HttpResponse:
        if self._closed:
            raise RuntimeError("the transport is closed")
        check_headers(request)  # before anything is opened: nothing is sent
        route = self.route(request.url)
        target = route.target
        origin = (target.scheme, target.host, target.port, route.proxy, route.insecure)
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(MAX_CONNECTIONS_PER_ORIGIN)
        await slots.acquire()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.timeout_s  # from the moment it has a slot
        pool = self._pool
        connection: Connection | None = None

        def release(done: Connection, keep: bool) -> None:
            self._release(origin, slots, done, keep)

        try:
            connection = None if fresh else pool.checkout(origin)
            if connection is not None:
                self._active[connection] = pool
                try:
                    return await connection.request(request, target, deadline, release)
                except ConnectionClosed as closed:
                    if closed.reset or connection.received_any:
                        raise
                    # A clean close with no answer on a reused connection: the server closed it
                    # while it idled, as the request went out. Once more, on a new connection.
                    self._active.pop(connection, None)
                    connection.close()
            connection = await self._open(route, deadline)
            self._active[connection] = pool
            return await connection.request(request, target, deadline, release)
        except BaseException:
            if connection is not None:
                self._active.pop(connection, None)
                connection.close()
            slots.release()
            raise

    async def _open(self, route: Route, deadline: float) -> Connection:
        opened = await open_connection(route, self.tls, deadline=deadline, resolve=self._resolve)
        self.connections_opened += 1
        return Connection(opened)

    def _release(
        self, origin: _Origin, slots: asyncio.Semaphore, connection: Connection, keep: bool
    ) -> None:
        pool = self._active.pop(connection, None)
        slots.release()
        if keep and pool is self._pool and not pool.retired and not self._closed:
            pool.put(origin, connection)
        else:
            connection.close()

    def retire_pool(self) -> None:
        """Close the idle connections; those in flight are closed when their response ends.
        The next request opens a new connection."""
        old, self._pool = self._pool, _Pool()
        old.retire()

    async def aclose(self) -> None:
        self._closed = True
        self._pool.retire()
        for connection in list(self._active):
            connection.close()
        self._active.clear()


class TransportFactory:
    """Transports that share the settings and TLS contexts but not connections. `make`
    replaces the real transport (tests give a fake); `resolve` replaces DNS."""

    def __init__(
        self,
        settings: NetworkSettings,
        make: Callable[[], Transport] | None = None,
        *,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.tls = TlsContexts(settings)
        self.resolve = resolve
        self._make = make
        for secret in proxy_secrets(settings):
            SECRETS.add(secret)

    def route(self, url: str) -> Route:
        return Route.of(url, self.settings)

    def new(self) -> Transport:
        if self._make is not None:
            return self._make()
        return HttpTransport(self.settings, self.tls, resolve=self.resolve)
