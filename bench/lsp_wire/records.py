"""What goes between the client and its users: each answer with its timing, what the server
wrote, and an editor's answers to the server's own requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .framing import Json

ServerRequestHandler = Callable[[str, Json], Json]
"""Answers one request of the server's (method, params) with its result."""

MessageCallback = Callable[[Json, bytes], None]
"""Sees each message the server writes, with its body's bytes, whether or not `record` is on."""


def editor_answers(configuration: Json = None) -> ServerRequestHandler:
    """What a plain editor answers: `configuration` for each `workspace/configuration` item,
    edits applied, no workspace folders, and `null` to the rest (progress, registration, ...)."""

    def answer(method: str, params: Json) -> Json:
        if method == "workspace/configuration":
            items = params.get("items") if isinstance(params, dict) else None
            return [configuration for _ in items or []]
        if method == "workspace/applyEdit":
            return {"applied": True}
        if method == "workspace/workspaceFolders":
            return []
        return None

    return answer


default_answer = editor_answers()


class ServerGone(Exception):
    """The server closed its output or exited; the message carries its stderr's tail."""


@dataclass
class Answer:
    """A response, and when its request was sent and it arrived (`time.perf_counter()`)."""

    message: dict[str, Json]
    sent: float
    received: float

    @property
    def id(self) -> Json:
        return self.message.get("id")

    @property
    def result(self) -> Json:
        return self.message.get("result")

    @property
    def error(self) -> Json:
        return self.message.get("error")

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def elapsed(self) -> float:
        return self.received - self.sent


@dataclass
class Received:
    """What the server wrote: stdout's bytes and messages while `record` is on, all of stderr,
    and what could not be read as a frame."""

    messages: list[Json] = field(default_factory=list)
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    frame_errors: list[str] = field(default_factory=list)
