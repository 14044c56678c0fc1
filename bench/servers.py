"""The servers measured: how to install (peers, from npm into a cache outside the repo) and start
each, with what `initializationOptions`, and which completion request it answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_wire import LspClient

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CACHE = Path(os.environ.get("KESTREL_CACHE") or Path.home() / ".cache" / "kestrel")
PEERS = CACHE / "peers"
TABBY_VERSION = "1.5.0"
COPILOT_VERSION = "1.539.0"
BENCH_KEY = "sk-bench-not-a-real-key"

# What the server processes inherit: nothing that could pick another provider or key.
_DROPPED_ENV = ("KESTREL_", "DEEPSEEK_", "OPENAI_", "ANTHROPIC_", "MIMO_", "MINIMAX_", "GITHUB_")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV)}
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class Server:
    name: str
    label: str
    completion_method: str | None = None  # None: cannot complete offline
    error: str | None = None  # set when the server cannot run here
    notes: list[str] = field(default_factory=list)

    def process(self, endpoint_url: str, *, debounce_ms: int | None = 0) -> LspClient:
        raise NotImplementedError

    def initialization_options(self, endpoint_url: str, debounce_ms: int | None) -> Any:
        return None


def kestrel_source() -> Path:
    """The checkout whose server is measured as "kestrel": this one, or KESTREL_BENCH_SOURCE
    (an older commit's worktree, for a before/after on the same machine)."""
    return Path(os.environ.get("KESTREL_BENCH_SOURCE") or REPO).resolve()


class Kestrel(Server):
    def __init__(self) -> None:
        super().__init__("kestrel", "kestrel-lsp", "textDocument/inlineCompletion")

    def process(self, endpoint_url: str, *, debounce_ms: int | None = 0) -> LspClient:
        pythonpath = os.pathsep.join(
            p for p in (str(kestrel_source() / "server"), os.environ.get("PYTHONPATH")) if p
        )
        return LspClient(
            [sys.executable, "-m", "kestrel_lsp", "--stdio"],
            env=clean_env(PYTHONPATH=pythonpath),
            cwd=str(kestrel_source()),
            record=False,
        )

    def initialization_options(self, endpoint_url: str, debounce_ms: int | None) -> Any:
        options: dict[str, Any] = {
            "provider": "deepseek",
            "baseUrl": endpoint_url,
            "apiKey": BENCH_KEY,
        }
        if debounce_ms is not None:
            options["completion"] = {"debounceMs": debounce_ms}
        return options


class BarePygls(Server):
    def __init__(self) -> None:
        super().__init__("pygls", "bare pygls")

    def process(self, endpoint_url: str, *, debounce_ms: int | None = 0) -> LspClient:
        return LspClient(
            [sys.executable, str(BENCH / "bare_pygls.py")],
            env=clean_env(),
            cwd=str(REPO),
            record=False,
        )


def _npm_install(directory: Path, spec: str, marker: Path) -> str | None:
    """Install `spec` into `directory` unless `marker` is there already; None or the error."""
    if marker.exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH"
    directory.mkdir(parents=True, exist_ok=True)
    print(f"  installing {spec} into {directory} ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", ".", spec],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm install {spec} failed: {exc}"
    if done.returncode != 0 or not marker.exists():
        tail = " ".join((done.stderr or done.stdout).split()[-30:])
        return f"npm install {spec} failed: {tail}"
    return None


def _home(name: str) -> Path:
    """A HOME of the peer's own, so it reads no user configuration or credentials."""
    home = PEERS / f"home-{name}"
    home.mkdir(parents=True, exist_ok=True)
    return home


class TabbyAgent(Server):
    def __init__(self) -> None:
        super().__init__("tabby", f"tabby-agent {TABBY_VERSION}", "textDocument/completion")
        self.root = PEERS / "tabby"
        self.cli = self.root / "node_modules" / "tabby-agent" / "dist" / "cli.js"
        self.node = shutil.which("node")
        self.notes.append(
            "tabby-agent 1.5.0's LSP offers textDocument/completion (no inlineCompletion)"
        )

    def install(self) -> None:
        self.error = _npm_install(self.root, f"tabby-agent@{TABBY_VERSION}", self.cli)
        if self.error is None and self.node is None:
            self.error = "node is not on PATH"

    def process(self, endpoint_url: str, *, debounce_ms: int | None = 0) -> LspClient:
        assert self.node is not None
        home = _home("tabby")
        config = home / ".tabby-client" / "agent" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        # Loopback only: a token keeps its cloud sign-in away, usage tracking is off.
        lines = [
            "[server]",
            f'endpoint = "{endpoint_url}"',
            'token = "bench-token"',
            "[anonymousUsageTracking]",
            "disable = true",
            "[logs]",
            'level = "silent"',
        ]
        if debounce_ms is not None:
            lines += ["[completion.debounce]", 'mode = "fixed"', f"interval = {debounce_ms}"]
        config.write_text("\n".join(lines) + "\n")
        env = clean_env(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
        return LspClient(
            [self.node, str(self.cli), "--lsp", "--stdio"], env=env, cwd=str(home), record=False
        )


class CopilotLanguageServer(Server):
    def __init__(self) -> None:
        super().__init__("copilot", f"copilot-language-server {COPILOT_VERSION}")
        self.root = PEERS / "copilot"
        self.binary = (
            self.root
            / "node_modules"
            / "@github"
            / "copilot-language-server-linux-x64"
            / "copilot-language-server"
        )
        self.unshare = shutil.which("unshare") if os.geteuid() == 0 else None

    def install(self) -> None:
        spec = f"@github/copilot-language-server@{COPILOT_VERSION}"
        self.error = _npm_install(self.root, spec, self.binary)
        if self.error is None and not os.access(self.binary, os.X_OK):
            self.error = f"{self.binary} is not executable (not linux-x64?)"
        if self.error is None:
            if self.unshare:
                self.notes.append("copilot-language-server runs with no network (unshare -n)")
            self.notes.append("not signed in: it cannot complete (error 1000 NotSignedIn)")

    def process(self, endpoint_url: str, *, debounce_ms: int | None = 0) -> LspClient:
        home = _home("copilot")
        dead_proxy = "http://127.0.0.1:9"  # discard port: anything that tries the network fails
        env = clean_env(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            HTTPS_PROXY=dead_proxy,
            HTTP_PROXY=dead_proxy,
            NO_PROXY="",
        )
        argv = [str(self.binary), "--stdio"]
        if self.unshare:
            argv = [self.unshare, "--net", "--", *argv]
        return LspClient(argv, env=env, cwd=str(home), record=False)

    def initialization_options(self, endpoint_url: str, debounce_ms: int | None) -> Any:
        return {
            "editorInfo": {"name": "kestrel-bench", "version": "1.0"},
            "editorPluginInfo": {"name": "kestrel-bench", "version": "1.0"},
        }


def all_servers(include_peers: bool = True) -> list[Server]:
    servers: list[Server] = [Kestrel(), BarePygls()]
    if include_peers:
        tabby, copilot = TabbyAgent(), CopilotLanguageServer()
        tabby.install()
        copilot.install()
        servers += [tabby, copilot]
    return servers
