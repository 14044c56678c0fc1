"""`kestrel-lsp simulate`: serve the simulator until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys

from kestrel_lsp.simulator.script import Script, ScriptError, load_script
from kestrel_lsp.simulator.server import SimulatorServer


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def _serve(script: Script, port: int, ssl_context: ssl.SSLContext | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still interrupts
            loop.add_signal_handler(signum, stop.set)
    try:
        server = SimulatorServer(script, port=port, ssl_context=ssl_context)
        await server.start()
    except OSError as exc:
        print(f"kestrel-lsp simulate: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 1
    print(f"listening on {server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
    return 0


def run(args: argparse.Namespace) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        print("kestrel-lsp simulate: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        script = load_script(args.script)
    except ScriptError as exc:
        print(f"kestrel-lsp simulate: {exc}", file=sys.stderr)
        return 2
    try:
        ssl_context = server_ssl_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    except (OSError, ssl.SSLError) as exc:
        print(f"kestrel-lsp simulate: cannot load the TLS certificate: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(script, args.port, ssl_context))
    return 0
