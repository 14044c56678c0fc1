"""LSP's base protocol: a `Content-Length` header, a blank line, a JSON body."""

from __future__ import annotations

import json
from typing import Any

Json = Any
"""A decoded JSON value, as the server sent it (no structuring: tests send and see anything)."""


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode(message: Json) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def build_message(method: str, params: Json, msg_id: Json = None) -> dict[str, Json]:
    """A request (with `msg_id`) or a notification; `params` None leaves the member out."""
    built: dict[str, Json] = {"jsonrpc": "2.0"}
    if msg_id is not None:
        built["id"] = msg_id
    built["method"] = method
    if params is not None:
        built["params"] = params
    return built


def message_key(msg_id: Json) -> tuple[str, str]:
    """A dictionary key for a JSON-RPC id: keeps 1 and "1" apart, and takes unhashable garbage."""
    return (type(msg_id).__name__, json.dumps(msg_id, sort_keys=True))


class FrameError(ValueError):
    """The server wrote something that is not a well-formed LSP frame."""


def header_length(line: bytes) -> int | None:
    """The body length a header line gives, or None for a header other than `Content-Length`.
    Raises FrameError for a `Content-Length` without a usable number."""
    name, _, value = line.decode("ascii", "replace").partition(":")
    if name.strip().lower() != "content-length":
        return None
    try:
        length = int(value.strip())
    except ValueError:
        length = -1
    if length < 0:
        raise FrameError(f"bad Content-Length {value.strip()!r}")
    return length
