"""Turning a model's reply into replacement text: strip markdown fences, re-indent to the target."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)


def strip_fences(reply: str) -> str:
    """The code inside the reply's first fenced block (the whole reply when it has none)."""
    match = _FENCE.search(reply)
    if match:
        return match.group(2)
    text = reply.strip("\n")
    if text.startswith(("```", "~~~")):  # an opening fence the reply never closed
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def reindent(code: str, target_indent: str) -> str:
    """Shift `code` so its least-indented line starts at `target_indent`."""
    lines = code.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    indents = [_indent_of(line) for line in lines if line.strip()]
    common = min(indents, key=len) if indents else ""
    out = []
    for line in lines:
        if not line.strip():
            out.append("")
        elif line.startswith(common):
            out.append(target_indent + line[len(common) :])
        else:
            out.append(target_indent + line.lstrip(" \t"))
    return "\n".join(out)


def replacement_for(reply: str, original: str) -> str:
    """The text that replaces `original` (whole lines): fences stripped, re-indented, and the
    original's trailing newline kept."""
    first = next((line for line in original.split("\n") if line.strip()), "")
    # The reply may carry CRLFs (echoed from a CRLF prompt): one kind of ending from here on.
    code = reindent(strip_fences(reply.replace("\r\n", "\n")), _indent_of(first))
    newline = "\r\n" if original.endswith("\r\n") else "\n"
    if "\r\n" in original:
        code = code.replace("\n", "\r\n")
    return code + newline if original.endswith(("\n", "\r")) else code


def first_line_indent(text: str) -> str:
    return _indent_of(text)
