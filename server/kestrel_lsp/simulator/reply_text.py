"""The simulator's default reply: an echo of the request's last code block with a marker line."""

from __future__ import annotations

import re
from collections.abc import Mapping

EDIT_MARKER = "# kestrel: simulated edit"
PLAIN_REPLY = "simulated reply"
FIM_REPLY = "sim_completion()"

_FENCED_BLOCK = re.compile(r"^[ \t]*```([^\n`]*)\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)


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


def simulated_edit(text: str) -> str:
    """The last fenced block of `text`, re-fenced, its code preceded by the marker line."""
    blocks = _FENCED_BLOCK.findall(text)
    if not blocks:
        return PLAIN_REPLY
    language, code = blocks[-1]
    indent = code[: len(code) - len(code.lstrip(" \t"))]
    if code and not code.endswith("\n"):
        code += "\n"
    return f"```{language.strip()}\n{indent}{EDIT_MARKER}\n{code}```"


def default_chat_reply(body: Mapping[str, object]) -> str:
    """For `/chat/completions` and `/v1/messages` request bodies."""
    messages = _messages(body)
    prompts = [_text_of(body.get("system"))]
    prompts += [_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "user")]
    if any("fill-in-the-middle" in prompt for prompt in prompts):
        return FIM_REPLY
    user_messages = [m for m in messages if m.get("role") == "user"]
    if not user_messages:
        return PLAIN_REPLY
    return simulated_edit(_text_of(user_messages[-1].get("content")))
