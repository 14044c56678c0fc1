"""One framed JSON-RPC client for language servers over stdio, shared by the bench and the tests.

`LspClient` (asyncio) is the client; `BlockingClient` runs it for synchronous code; `RawServer`
is Kestrel's server under it. It lives beside the bench scripts, which import it as their
sibling; pytest finds it through `pythonpath` in pyproject.toml.
"""

from .blocking import BlockingClient
from .client import LspClient
from .framing import FrameError, Json, build_message, encode, frame, message_key
from .kestrel import RawServer, clean_env, initialize
from .messages import PLAIN, VSCODE_LIKE
from .records import (
    Answer,
    MessageCallback,
    Received,
    ServerGone,
    ServerRequestHandler,
    default_answer,
    editor_answers,
)

__all__ = [
    "PLAIN",
    "VSCODE_LIKE",
    "Answer",
    "BlockingClient",
    "FrameError",
    "Json",
    "LspClient",
    "MessageCallback",
    "RawServer",
    "Received",
    "ServerGone",
    "ServerRequestHandler",
    "build_message",
    "clean_env",
    "default_answer",
    "editor_answers",
    "encode",
    "frame",
    "initialize",
    "message_key",
]
