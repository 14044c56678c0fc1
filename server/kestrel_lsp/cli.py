"""Command line: `kestrel-lsp [--stdio|--tcp HOST:PORT]`, `kestrel-lsp simulate ...`, `help`."""

from __future__ import annotations

import gc
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

DESCRIPTION = """\
Kestrel: an AI language server. It offers AI code actions (fix, add a docstring, rewrite the
selection) and completions through an LLM provider, retries a flaky gateway's transient
401/403 only for a key that already worked, and tells you whether your key is missing or was
rejected. Your editor starts it; with no options it serves LSP over stdio."""

EPILOG = """\
settings:
  The editor sends the `kestrel` settings object (initializationOptions, then
  workspace/configuration and workspace/didChangeConfiguration). Before those, the
  environment gives KESTREL_PROVIDER (deepseek, openai, anthropic, mimo, minimax, ollama,
  openai-compatible), KESTREL_BASE_URL and KESTREL_MODEL.

API key (never read from a file):
  The editor's `apiKey` setting (VS Code: "Kestrel: Set API Key"); else KESTREL_API_KEY;
  else the provider's own variable: DEEPSEEK_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY,
  MIMO_API_KEY, MINIMAX_API_KEY. Ollama needs none.

commands:
  kestrel-lsp simulate      a local provider for trying Kestrel without an account
                            (`kestrel-lsp simulate --help` lists its scripts)
  kestrel-lsp help          this text

KESTREL_LOG_LEVEL=DEBUG turns on verbose logging on stderr (the key is always redacted).
Documentation: README.md and docs/ in Kestrel's source (editors.md: Neovim, Emacs, Helix;
simulator.md; networks.md: proxies and corporate CAs)."""

SIMULATE_DESCRIPTION = """\
A local LLM provider on 127.0.0.1 that speaks the OpenAI chat, DeepSeek fill-in-the-middle and
Anthropic Messages formats, and plays a script of replies and faults. Its first line on stdout
is `listening on http://127.0.0.1:PORT`. Point Kestrel at it with baseUrl (or KESTREL_BASE_URL)
and any key; it runs until Ctrl+C."""


def _scripts_epilog() -> str:
    """The named scripts and what each plays (read only when `simulate --help` is asked for)."""
    from importlib import resources

    from kestrel_lsp.simulator import named_scripts

    lines = ["named scripts (--script NAME; or --script PATH for your own JSON file):"]
    for name in named_scripts():
        resource = resources.files("kestrel_lsp.simulator") / "scripts" / f"{name}.json"
        try:
            description = json.loads(resource.read_text(encoding="utf-8")).get("description", "")
        except (OSError, ValueError):
            description = ""
        lines.append(f"  {name:<20} {description}")
    lines += [
        "",
        "example: kestrel-lsp simulate --port 8089 --script reject-all",
        "Documentation: docs/simulator.md in Kestrel's source (script format, endpoints).",
    ]
    return "\n".join(lines)


def _parser(describe_scripts: bool = False) -> argparse.ArgumentParser:
    import argparse

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="kestrel-lsp", description=DESCRIPTION, epilog=EPILOG, formatter_class=raw
    )
    parser.add_argument("--stdio", action="store_true", help="serve LSP over stdio (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve LSP over TCP, for debugging")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="{simulate,help}")
    sim = sub.add_parser(
        "simulate",
        help="run the provider simulator on 127.0.0.1",
        description=SIMULATE_DESCRIPTION,
        epilog=_scripts_epilog() if describe_scripts else None,
        formatter_class=raw,
    )
    sim.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free port is picked)"
    )
    sim.add_argument(
        "--script", default="ok", help="a named script (below) or a JSON file's path (default: ok)"
    )
    sim.add_argument("--tls-cert", metavar="PEM", help="certificate: serve HTTPS")
    sim.add_argument("--tls-key", metavar="PEM", help="private key for --tls-cert")
    sub.add_parser("help", help="show this help and exit")
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments in ([], ["--stdio"]):
        # How editors start it: serve without building the parser (argparse, gettext and shutil
        # are ~15 ms of a start-up whose floor is pygls's own import).
        _serve(tcp=None)
        return
    wants_scripts = arguments[:1] == ["simulate"] and bool({"-h", "--help"} & set(arguments))
    parser = _parser(describe_scripts=wants_scripts)
    args = parser.parse_args(arguments)
    if args.command == "help":
        parser.print_help()
        return
    if args.version:
        from kestrel_lsp import __version__

        print(__version__)
        return
    if args.command == "simulate":
        from kestrel_lsp.simulator.cli import run

        sys.exit(run(args))
    _serve(tcp=args.tcp)


def _serve(tcp: str | None) -> None:
    # Start-up creates a few hundred thousand long-lived objects (lsprotocol's ~600 classes);
    # full collections would traverse them again and again while they are made. Until the
    # server is built, only young objects are collected (short-lived garbage is still freed;
    # turning the GC off saved 30 ms more but kept ~9 MB of garbage). serve() restores the
    # thresholds and freezes what start-up made out of later collections.
    defaults = gc.get_threshold()
    gc.set_threshold(10_000, 10, 1_000_000)
    from kestrel_lsp.server import serve

    serve(tcp=tcp, gc_threshold=defaults)
