"""Which lines an action rewrites: the selection, the diagnostics' lines, or the definition."""

from __future__ import annotations

import re

from kestrel_lsp.documents import Document

_DEFINITION = re.compile(
    r"^\s*(async\s+def|def|class|(export\s+)?(async\s+)?function|func|fn|pub\s+fn|"
    r"(public|private|protected|static|\s)+[\w<>\[\]]+\s+\w+\s*\()"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def definition_lines(document: Document, line: int) -> tuple[int, int]:
    """The definition enclosing `line` (its header through its indented body), else `line`."""
    lines = document.lines
    start = next((n for n in range(line, -1, -1) if _DEFINITION.match(lines[n])), None)
    if start is None:
        return line, line
    header_indent = _indent(lines[start])
    end = start
    for n in range(start + 1, len(lines)):
        text = lines[n].strip()
        if not text:
            continue
        if _indent(lines[n]) <= header_indent:
            if text.startswith(("}", "end", ")")):
                end = n
            break
        end = n
    if end < line:  # the cursor is below the definition's body: not inside it
        return line, line
    return start, end


def whole_lines(
    document: Document, first: int, last: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(start, end) positions (line, str index) covering lines first..last with their endings."""
    if last + 1 < len(document.lines):
        return (first, 0), (last + 1, 0)
    return (first, 0), (last, len(document.lines[last]))
