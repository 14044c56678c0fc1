"""Kestrel's own server under the blocking client, as the tests and the soak start it: this
checkout's `kestrel_lsp`, an environment without keys, Kestrel settings or proxies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .blocking import BlockingClient
from .framing import Json
from .messages import VSCODE_LIKE
from .records import MessageCallback, ServerRequestHandler, default_answer

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without keys, Kestrel settings or proxies, plus the source tree."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith("KESTREL_") and "PROXY" not in k.upper()
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


class RawServer(BlockingClient):
    """`with RawServer(env=...) as server:` starts `python -m kestrel_lsp` and reads its output."""

    def __init__(
        self,
        *,
        env: dict[str, str] | None = None,
        answer: ServerRequestHandler = default_answer,
        record: bool = True,
        on_message: MessageCallback | None = None,
    ) -> None:
        super().__init__(
            [sys.executable, "-m", "kestrel_lsp"],
            env=clean_env(env),
            answer=answer,
            record=record,
            on_message=on_message,
        )


def initialize(
    server: BlockingClient,
    *,
    init: Json = None,
    capabilities: Json = None,
    timeout: float = 60,
) -> Json:
    """initialize + initialized; returns the initialize answer."""
    answer = server.request_wait(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": "file:///work/project",
            "capabilities": capabilities if capabilities is not None else VSCODE_LIKE,
            "initializationOptions": init,
        },
        timeout=timeout,
    )
    server.notify("initialized", {})
    return answer
