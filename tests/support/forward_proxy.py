"""A real forward proxy in its own process: proxy.py (PyPI `proxy.py`) with one plugin.

The plugin maps the test host names (`sim.kestrel.test`, which resolves nowhere else) to
127.0.0.1, and prints one line per client connection and per request it forwards, so a test can
count what reached the proxy. Run as a script:

    python tests/support/forward_proxy.py [--basic-auth USER:PASS]

The first line on stdout is `listening on http://127.0.0.1:PORT`; then `connection` for each
accepted connection and `request METHOD HOST:PORT` for each request or CONNECT tunnel. It runs
until SIGTERM. `ForwardProxy` starts it from a test and follows those lines.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# xn--fa-hia.test is faß.test in IDNA 2008; its IDNA 2003 form (fass.test) resolves nowhere.
MAPPED_HOSTS = {"sim.kestrel.test": "127.0.0.1", "xn--fa-hia.test": "127.0.0.1"}


def _plugin_class() -> type:
    from proxy.http.proxy import HttpProxyBasePlugin

    class MapTestHosts(HttpProxyBasePlugin):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            print("connection", flush=True)

        def resolve_dns(self, host: str, port: int) -> tuple[str | None, None]:
            return MAPPED_HOSTS.get(host), None

        def before_upstream_connection(self, request: Any) -> Any:
            method = (request.method or b"?").decode()
            host = (request.host or b"?").decode()
            print(f"request {method} {host}:{request.port}", flush=True)
            return request

    return MapTestHosts


def main(argv: list[str]) -> None:
    import proxy

    sys.modules["forward_proxy"] = sys.modules[__name__]
    globals()["MapTestHosts"] = _plugin_class()
    args = [
        "--hostname", "127.0.0.1", "--port", "0", "--num-acceptors", "1",
        "--num-workers", "1", "--log-level", "WARNING",
        "--plugins", "forward_proxy.MapTestHosts",
        *argv,
    ]  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with proxy.Proxy(args) as running:
        print(f"listening on http://127.0.0.1:{running.flags.port}", flush=True)
        stop.wait()


@dataclass
class ForwardProxy:
    """The proxy process as seen from a test: its URL and what it has seen so far.

    Its output arrives through a pipe, a little later than the proxy acts: count connections
    with `settled_connections()`, which first sends a marker through the proxy and waits for it.
    """

    url: str
    credentials: str | None = None  # "user:password" when the proxy asks for them
    lines: list[str] = field(default_factory=list)
    _seen: threading.Condition = field(default_factory=threading.Condition)
    _markers: int = 0

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    async def settled_connections(self) -> int:
        """Client connections the proxy accepted before this call (its markers not counted)."""
        before = await self._settle()
        return before.count("connection") - self._markers

    async def settled_requests(self) -> list[str]:
        """`METHOD HOST:PORT` of each request or tunnel before this call (no markers)."""
        before = await self._settle()
        requests = [line.removeprefix("request ") for line in before if line.startswith("req")]
        return [r for r in requests if not r.startswith("CONNECT marker-")]

    async def _settle(self) -> list[str]:
        """The output lines before a marker sent now: everything that happened earlier."""
        self._markers += 1
        marker = f"marker-{self._markers}.kestrel.test:9"
        auth = ""
        if self.credentials:
            token = base64.b64encode(self.credentials.encode()).decode()
            auth = f"Proxy-Authorization: Basic {token}\r\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(f"CONNECT {marker} HTTP/1.1\r\nHost: {marker}\r\n{auth}\r\n".encode())
        await writer.drain()
        await reader.readline()  # the proxy's answer: 502, the marker host resolves nowhere
        writer.close()
        await writer.wait_closed()
        line = f"request CONNECT {marker}"
        await asyncio.to_thread(self._wait_for_line, line)
        with self._seen:
            return self.lines[: self.lines.index(line)]

    def _wait_for_line(self, line: str, timeout: float = 20) -> None:
        with self._seen:
            assert self._seen.wait_for(lambda: line in self.lines, timeout), line

    def _follow(self, stdout: Any) -> None:
        for raw in stdout:
            with self._seen:
                self.lines.append(raw.strip())
                self._seen.notify_all()

    def url_with(self, user: str, password: str) -> str:
        return self.url.replace("http://", f"http://{user}:{password}@")


@contextmanager
def forward_proxy(*extra: str) -> Iterator[ForwardProxy]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    process = subprocess.Popen(
        [sys.executable, __file__, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:"), first
        credentials = extra[extra.index("--basic-auth") + 1] if "--basic-auth" in extra else None
        running = ForwardProxy(first.removeprefix("listening on "), credentials)
        threading.Thread(target=running._follow, args=(process.stdout,), daemon=True).start()
        yield running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
