"""Server-sent events, parsed as bytes arrive (the WHATWG rules: lines end in CRLF, LF or CR;
`:` starts a comment; `data` lines join with newlines; a blank line ends an event)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Event:
    event: str
    data: str


class SseParser:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial: list[str] = []  # the line so far
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> Iterator[Event]:
        piece = self._decoder.decode(chunk)
        if not _LINE_END.search(piece):
            self._partial.append(piece)  # a long line: joined once, when it ends
            return
        text = "".join([*self._partial, piece])
        self._partial.clear()
        start = 0
        for match in _LINE_END.finditer(text):
            if match.group() == "\r" and match.end() == len(text):
                break  # maybe the first half of a CRLF split between chunks
            event = self._line(text[start : match.start()])
            start = match.end()
            if event is not None:
                yield event
        if start < len(text):
            self._partial.append(text[start:])

    def _line(self, line: str) -> Event | None:
        if not line:
            event = Event(self._event or "message", "\n".join(self._data)) if self._data else None
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None
