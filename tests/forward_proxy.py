"""A real forward proxy in its own process: proxy.py (PyPI `proxy.py`) with one plugin.

The plugin maps the test host names (`sim.kestrel.test`, which resolves nowhere else) to
127.0.0.1, and prints one line per client connection and per request it forwards, so a test can
count what reached the proxy. Run as a script:

    python tests/forward_proxy.py [--basic-auth USER:PASS]

The first line on stdout is `listening on http://127.0.0.1:PORT`; then `connection` for each
accepted connection and `request METHOD HOST:PORT` for each request or CONNECT tunnel. It runs
until SIGTERM. `ForwardProxy` starts it from a test and follows those lines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MAPPED_HOSTS = {"sim.kestrel.test": "127.0.0.1"}


def _plugin_class() -> type:
    from proxy.http.proxy import HttpProxyBasePlugin

    class MapTestHosts(HttpProxyBasePlugin):  # type: ignore[misc]
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
    """The proxy process as seen from a test: its URL and what it has seen so far."""

    url: str
    lines: list[str] = field(default_factory=list)
    _seen: threading.Condition = field(default_factory=threading.Condition)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def connections(self) -> int:
        with self._seen:
            return sum(1 for line in self.lines if line == "connection")

    @property
    def requests(self) -> list[str]:
        with self._seen:
            return [line.removeprefix("request ") for line in self.lines if line.startswith("req")]

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
        running = ForwardProxy(first.removeprefix("listening on "))
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
