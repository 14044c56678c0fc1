"""The simulator's default replies, fitted to the task the request asks for, so a demo shows what
the product does: a docstring action gets the code back with a docstring, a fix or a rewrite
gets it changed plausibly, a completion gets a continuation of the code at the cursor.

The request is read the way a model reads it: the task and language from the prompt's text, the
code from its last fenced block. Deterministic: the same request always gets the same reply, and
nothing of the request is echoed beyond the code it asks to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kestrel_lsp.simulator import continuation, docstrings, fixes, rewrites

PLAIN_REPLY = "simulated reply"
FIM_MARKER = "fill-in-the-middle"
CURSOR = "<CURSOR>"

_FENCED_BLOCK = re.compile(r"^[ \t]*```([^\n`]*)\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
_LANGUAGE_LINE = re.compile(r"^Language:[ \t]*([\w+#.-]+)", re.MULTILINE)
_TASK_LINE = re.compile(r"^Task:[ \t]*(.+)$", re.MULTILINE)
_DIAGNOSTICS = re.compile(r"^Diagnostics:\n((?:- [^\n]*\n?)+)", re.MULTILINE)


def _text_of(content: object) -> str:
    """Message content is a string or a list of parts (OpenAI `text` parts, Anthropic blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def _messages(body: Mapping[str, object]) -> list[Mapping[str, object]]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, Mapping)]


def _guess_language(code: str) -> str:
    checks = [
        (r"^\s*(?:async\s+)?def \w+\(|^\s*class \w+.*:\s*$|^\s*import \w+\s*$", "python"),
        (r"^\s*func \w+|^package \w+", "go"),
        (r"^\s*(?:pub\s+)?fn \w+|^\s*let mut ", "rust"),
        (r"^\s*#include|^\s*(?:static\s+)?(?:int|void|char|double|size_t)\s+\*?\w+\s*\(", "c"),
        (r"^\s*(?:public|private|protected)\s+(?:static\s+)?[\w<>\[\]]+\s+\w+\s*\(", "java"),
        (r"^\s*(?:export\s+)?(?:async\s+)?function\b|=>|^\s*(?:const|let)\s+\w+", "javascript"),
    ]
    for pattern, language in checks:
        if re.search(pattern, code, re.MULTILINE):
            return language
    return ""


def _task(prompt: str) -> str:
    """ "docstring", "fix" or "rewrite", from the prompt's task line (or its whole text)."""
    task_line = _TASK_LINE.search(prompt)
    text = (task_line.group(1) if task_line else _FENCED_BLOCK.sub("", prompt)).lower()
    if "docstring" in text or "doc comment" in text or "documentation" in text:
        return "docstring"
    if _DIAGNOSTICS.search(prompt) or re.search(r"\bfix\b", text):
        return "fix"
    return "rewrite"


def task_reply(prompt: str) -> str:
    """The reply to an edit request: the last fenced block of `prompt`, changed for its task."""
    blocks = _FENCED_BLOCK.findall(prompt)
    if not blocks:
        return PLAIN_REPLY
    fence_language, code = blocks[-1]
    declared = _LANGUAGE_LINE.search(prompt)
    language = (declared.group(1) if declared else fence_language.strip()) or _guess_language(code)
    language = language.lower()
    task = _task(prompt)
    body = code[:-1] if code.endswith("\n") else code
    if task == "docstring":
        changed = docstrings.add_documentation(body, language)
    elif task == "fix":
        diagnostics = _DIAGNOSTICS.search(prompt)
        messages = [line[2:] for line in diagnostics.group(1).splitlines()] if diagnostics else []
        changed = fixes.fix(body, language, messages)
    else:
        changed = rewrites.rewrite(body, language)
    return f"```{fence_language.strip() or language}\n{changed}\n```"


def fim_reply(prefix: str, suffix: str, language: str = "") -> str:
    return continuation.continue_code(prefix, suffix, language or _guess_language(prefix))


def _chat_fim(prompt: str) -> str:
    """A chat request for a completion: `…(fill-in-the-middle).\\n{prefix}<CURSOR>{suffix}`."""
    declared = _LANGUAGE_LINE.search(prompt)
    _, _, document = prompt.partition(f"({FIM_MARKER}).\n")
    if CURSOR not in document:
        document = prompt.rsplit(FIM_MARKER, 1)[-1]
    prefix, _, suffix = document.partition(CURSOR)
    return fim_reply(prefix, suffix, declared.group(1) if declared else "")


def default_fim_reply(body: Mapping[str, object]) -> str:
    """For DeepSeek's `/beta/completions` (`prompt`, `suffix`)."""
    prompt = body.get("prompt")
    suffix = body.get("suffix")
    return fim_reply(
        prompt if isinstance(prompt, str) else "", suffix if isinstance(suffix, str) else ""
    )


def default_chat_reply(body: Mapping[str, object]) -> str:
    """For `/chat/completions` and `/v1/messages` request bodies."""
    messages = _messages(body)
    user_messages = [m for m in messages if m.get("role") == "user"]
    prompts = [_text_of(body.get("system"))]
    prompts += [_text_of(m.get("content")) for m in messages if m.get("role") == "system"]
    last_user = _text_of(user_messages[-1].get("content")) if user_messages else ""
    if any(FIM_MARKER in prompt for prompt in [*prompts, last_user]):
        return _chat_fim(last_user)
    if not user_messages:
        return PLAIN_REPLY
    return task_reply(last_user)
