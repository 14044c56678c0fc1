"""Command line: `kestrel-lsp [--stdio|--tcp HOST:PORT]` and `kestrel-lsp simulate ...`."""

from __future__ import annotations

import argparse
import gc
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kestrel-lsp", description=__doc__)
    parser.add_argument("--stdio", action="store_true", help="serve LSP over stdio (default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve LSP over TCP, for debugging")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    sim = sub.add_parser("simulate", help="run the provider simulator on 127.0.0.1")
    sim.add_argument("--port", type=int, default=0)
    sim.add_argument("--script", default="ok", help="a named script or a JSON file's path")
    sim.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    sim.add_argument("--tls-key", help="PEM private key for --tls-cert")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.version:
        from kestrel_lsp import __version__

        print(__version__)
        return
    if args.command == "simulate":
        from kestrel_lsp.simulator.cli import run

        sys.exit(run(args))
    # Start-up creates a few hundred thousand long-lived objects (lsprotocol's ~600 classes);
    # full collections would traverse them again and again while they are made. Until the
    # server is built, only young objects are collected (short-lived garbage is still freed;
    # turning the GC off saved 30 ms more but kept ~9 MB of garbage). serve() restores the
    # thresholds and freezes what start-up made out of later collections.
    defaults = gc.get_threshold()
    gc.set_threshold(10_000, 10, 1_000_000)
    from kestrel_lsp.server import serve

    serve(tcp=args.tcp, gc_threshold=defaults)
