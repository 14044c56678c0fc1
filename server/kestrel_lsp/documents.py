"""Kestrel's own text store: a list of lines per document, so an incremental edit costs the
lines it touches, not the whole file (pygls's store re-splits the text on every keystroke)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class PositionError(ValueError):
    """A position or range that cannot be read (negative, or a range ending before it starts);
    the message names it precisely."""


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def split_lines(text: str) -> list[str]:
    """Lines with their endings kept (LSP's endings only: \\n, \\r\\n, \\r). The last element
    never ends with a newline: a text ending in one has a final ''."""
    lines = _LINE.findall(text)
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    # A lone surrogate (JSON allows "\\ud800") is one UTF-16 unit, not an error.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _index_for_units(body: str, units: int, encoding: str) -> int:
    if encoding == "utf-32" or body.isascii():
        return min(units, len(body))
    count = 0
    for index, char in enumerate(body):
        if count >= units:
            return index
        code = ord(char)
        if encoding == "utf-8":
            count += 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        else:
            count += 2 if code > 0xFFFF else 1
    return len(body)


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    lines: list[str] = field(repr=False)
    encoding: str = "utf-16"

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def offset_of(self, line: int, character: int) -> tuple[int, int]:
        """(line, str index) for an LSP position, as LSP 3.17 reads one: a character past the
        end of its line is the line's end, a line past the last is the document's end."""
        if line < 0 or character < 0:
            raise PositionError(f"position {line}:{character} is negative")
        if line >= len(self.lines):
            last = len(self.lines) - 1
            return last, len(_body(self.lines[last]))
        return line, _index_for_units(_body(self.lines[line]), character, self.encoding)

    def apply_change(self, start: tuple[int, int], end: tuple[int, int], new_text: str) -> None:
        (sl, sc), (el, ec) = start, end
        if (el, ec) < (sl, sc):
            raise PositionError("the range ends before it starts")
        combined = self.lines[sl][:sc] + new_text + self.lines[el][ec:]
        if combined.startswith("\n") and sl > 0 and self.lines[sl - 1].endswith("\r"):
            # "\r" ending the line before and "\n" starting this piece are one CRLF break.
            sl -= 1
            combined = self.lines[sl] + combined
        pieces = _LINE.findall(combined)
        if el == len(self.lines) - 1 and (not pieces or pieces[-1].endswith(("\n", "\r"))):
            pieces.append("")
        self.lines[sl : el + 1] = pieces

    def units(self, line: int, index: int) -> int:
        """The LSP character of str index `index` on `line`."""
        return _units(_body(self.lines[line])[:index], self.encoding)

    def slice(self, start: tuple[int, int], end: tuple[int, int]) -> str:
        (sl, sc), (el, ec) = start, end
        if sl == el:
            return self.lines[sl][sc:ec]
        return self.lines[sl][sc:] + "".join(self.lines[sl + 1 : el]) + self.lines[el][:ec]


class DocumentStore:
    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}
        self.encoding = "utf-16"

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        document = Document(uri, language_id, version, split_lines(text), self.encoding)
        self._documents[uri] = document
        return document

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def __len__(self) -> int:
        return len(self._documents)
