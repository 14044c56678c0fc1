"""Run the simulator as a child process (`python -m kestrel_lsp simulate`), for tests that need
it outside their own event loop, or for other programs' tests."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from typing_extensions import Self

import kestrel_lsp

PACKAGE_ROOT = Path(kestrel_lsp.__file__).resolve().parent.parent


class SimulatorProcess:
    """`with SimulatorProcess("mimo-flaky") as sim:` then use `sim.url`, `sim.requests()`.

    After `stop()`, `stdout` and `stderr` hold everything the child wrote.
    """

    def __init__(
        self,
        script: str = "ok",
        *,
        port: int = 0,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        verify: ssl.SSLContext | bool = True,
        startup_timeout: float = 15.0,
    ) -> None:
        self.args = ["--port", str(port), "--script", script]
        if tls_cert and tls_key:
            self.args += ["--tls-cert", tls_cert, "--tls-key", tls_key]
        self.verify = verify  # for the control requests over HTTPS
        self.startup_timeout = startup_timeout
        self.first_line = ""
        self.url = ""
        self.stdout = ""
        self.stderr = ""
        self.returncode: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._stderr_file: IO[str] | None = None

    def start(self) -> str:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")])
        )
        # A file, not a pipe: nobody reads stderr while the child runs, and a full pipe blocks it.
        self._stderr_file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "kestrel_lsp", "simulate", *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            text=True,
            env=env,
        )
        self.first_line = self._read_first_line()
        prefix = "listening on "
        if not self.first_line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"simulator did not start: {self.first_line!r} {self.stderr!r}")
        self.url = self.first_line[len(prefix) :].strip()
        return self.url

    def _read_first_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        return lines[0] if lines else ""

    def stop(self) -> int:
        """SIGTERM, wait, collect the output; returns the exit code."""
        process = self._process
        if process is None:
            return self.returncode if self.returncode is not None else 0
        if process.poll() is None:
            process.terminate()
        try:
            rest, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate()
        self.stdout = self.first_line + (rest or "")
        if self._stderr_file is not None:
            self._stderr_file.seek(0)
            self.stderr = self._stderr_file.read()
            self._stderr_file.close()
        self.returncode = process.returncode
        self._process = None
        return process.returncode

    def _control(self, method: str, path: str, body: object = None) -> Any:
        import urllib.request  # only the helper needs it; the simulator itself does not

        content = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=content, method=method)
        context = self.verify if isinstance(self.verify, ssl.SSLContext) else None
        if self.verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        no_proxy = urllib.request.ProxyHandler({})  # the simulator is on 127.0.0.1: never proxied
        handlers = [no_proxy, urllib.request.HTTPSHandler(context=context)]
        with urllib.request.build_opener(*handlers).open(request, timeout=30) as response:
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        """The request log (`GET /_sim/requests`)."""
        log: list[dict[str, Any]] = self._control("GET", "/_sim/requests")["requests"]
        return log

    def clear_requests(self) -> None:
        self._control("DELETE", "/_sim/requests")

    def set_script(self, script: str | dict[str, Any]) -> None:
        """A named script, or a script's JSON object; restarts the steps and clears the log."""
        self._control(
            "POST", "/_sim/script", {"name": script} if isinstance(script, str) else script
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
