"""Turning a model's reply into replacement text: strip markdown fences, re-indent to the target.

Only a finished reply with code in it becomes an edit; a completion cut off at the token limit
keeps its complete lines. (Reasoning is already gone: the provider client drops it.)
"""

from __future__ import annotations

import re

from kestrel_lsp.provider.errors import EmptyReplyError, ProviderError, UnfinishedReplyError
from kestrel_lsp.provider.replies import Reply

_FENCES = ("```", "~~~")
_CUT_AT_LIMIT = frozenset({"length", "max_tokens"})
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


def refusal(reply: Reply, provider: str, reasoning: str = "off") -> ProviderError | None:
    """Why `reply` must not become an edit (its notice), or None when it may. `reasoning` is
    the setting, for the hint when the budget went to thinking.

    Unfinished comes first even when the reply is also empty: the reason tells the user more."""
    if not reply.finished:
        spent_on_reasoning = reply.reason in _CUT_AT_LIMIT and reply.had_reasoning
        return UnfinishedReplyError(
            provider,
            reply.reason or "unknown",
            spent_on_reasoning=spent_on_reasoning,
            may_think=reasoning == "provider",
        )
    if not strip_fences(reply.text.replace("\r\n", "\n")).strip():
        return EmptyReplyError(provider)
    return None


def completion_text(reply: Reply) -> str:
    """The text a completion inserts: a reply cut off at the token limit loses its unfinished
    last line; any other unfinished reply, or an empty one, inserts nothing."""
    text = reply.text
    if not reply.finished:
        if reply.reason not in _CUT_AT_LIMIT:
            return ""
        text = text[: max(text.rfind("\n"), 0)]
    if text.lstrip().startswith(_FENCES):
        text = strip_fences(text)
    return text if text.strip() else ""
