"""Reading a model's reply: its text without reasoning, why it stopped, and error bodies.

Pure functions over parsed JSON and SSE events, for every wire and both transports (a whole JSON
body, or a stream). Real providers answer in more shapes than a simulator: a finish reason of
`length` after half an answer, an answer spent on reasoning, `<think>` inside the content, an
error object inside a 200 or inside a stream, an error body that is a list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# OpenAI-compatible `finish_reason` values meaning "the model finished its answer". No reason at
# all also counts: a stream that ended with [DONE] (or a complete JSON body) without one.
OPENAI_FINISHED = frozenset({"stop"})
# Anthropic `stop_reason`: https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
ANTHROPIC_FINISHED = frozenset({"end_turn", "stop_sequence"})

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


class UnreadableReply(Exception):
    """A 200 whose body is not the expected format. The message never contains the body."""


class ReportedError(Exception):
    """The provider reported an error where a reply was expected: an error event inside a
    stream, or an error object in a 200 body. `message` is the provider's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Reply:
    """What the model answered: `text` without reasoning, and why it stopped."""

    text: str
    reason: str | None = None
    finished: bool = True
    had_reasoning: bool = False


def make_reply(
    text: str, reason: str | None, finished_reasons: frozenset[str], *, had_reasoning: bool
) -> Reply:
    answer, thought = drop_leading_think(text)
    finished = reason is None or reason in finished_reasons
    return Reply(answer, reason, finished, had_reasoning or thought)


def drop_leading_think(text: str) -> tuple[str, bool]:
    """`text` without the `<think>…</think>` block(s) it starts with, and whether there were any.
    A block that never closes (the model was cut off while thinking) takes the whole text."""
    rest = text.lstrip()
    if not rest.lower().startswith(_THINK_OPEN):
        return text, False
    while rest.lower().startswith(_THINK_OPEN):
        end = rest.lower().find(_THINK_CLOSE)
        if end == -1:
            return "", True
        rest = rest[end + len(_THINK_CLOSE) :]
        if rest.lstrip().lower().startswith(_THINK_OPEN):
            rest = rest.lstrip()
    return rest.lstrip("\r\n"), True


def _reason(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# -- error objects -------------------------------------------------------------------------------


def parse_json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def error_details(data: Any) -> list[dict[str, Any]]:
    """The error objects of an error body: `{"error": {...}}`, `{"type": "error", "error":
    {...}}`, a bare `{"message": ...}`, or a list of those (Gemini's OpenAI-compatible endpoint)."""
    items = data if isinstance(data, list) else [data]
    details = []
    for item in items:
        if not isinstance(item, dict):
            continue
        inner = item.get("error")
        if isinstance(inner, dict):
            details.append(inner)
        elif isinstance(inner, str):
            details.append({"message": inner})
        else:
            details.append(item)
    return details


def error_message(data: Any) -> str:
    """The provider's own message from a parsed error body, or "" when it has none."""
    for detail in error_details(data):
        for key in ("message", "msg", "detail", "status_msg"):
            value = detail.get(key)
            if isinstance(value, str) and value.strip():
                return value
    return ""


def error_codes(detail: dict[str, Any]) -> set[str]:
    """The machine-readable names an error object carries (`code`, `type`, `status`), lowered."""
    return {
        str(detail[key]).lower()
        for key in ("code", "type", "status")
        if isinstance(detail.get(key), (str, int)) and not isinstance(detail.get(key), bool)
    }


def _reported(data: dict[str, Any]) -> ReportedError | None:
    """An error object where a reply was expected (a 200 with `error`, or Anthropic's `type:
    error`)."""
    if data.get("error") or data.get("type") == "error":
        return ReportedError(error_message(data) or "an error without a message")
    return None


# -- whole JSON bodies ---------------------------------------------------------------------------


def _first_choice(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        reported = _reported(data)
        if reported is not None and not data.get("choices"):
            raise reported
        choices = data.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            return choices[0]
    raise UnreadableReply("the reply has no choices[0]")


def _content_text(content: Any) -> str:
    """Message content: a string, null (all of it went to reasoning or a refusal), or a list
    of parts whose `text` parts are the answer."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type", "text") == "text"
            and isinstance(part.get("text"), str)
        )
    raise UnreadableReply("the reply's content is not text")


def _has_reasoning(fields: dict[str, Any]) -> bool:
    return any(fields.get(name) for name in ("reasoning_content", "reasoning", "reasoning_details"))


def openai_chat_reply(data: Any) -> Reply:
    """A `chat.completion` body. Only `content` is the answer: `reasoning_content`
    (DeepSeek, MiMo), `reasoning` (Ollama, vLLM) and `reasoning_details` (MiniMax) are not."""
    choice = _first_choice(data)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise UnreadableReply("the reply has no choices[0].message")
    text = _content_text(message.get("content"))
    reason = _reason(choice.get("finish_reason"))
    refusal = message.get("refusal")
    if not text.strip() and isinstance(refusal, str) and refusal.strip():
        reason = "refusal"
    return make_reply(text, reason, OPENAI_FINISHED, had_reasoning=_has_reasoning(message))


def openai_fim_reply(data: Any) -> Reply:
    """A `text_completion` body (DeepSeek's fill-in-the-middle endpoint)."""
    choice = _first_choice(data)
    text = choice.get("text")
    if text is not None and not isinstance(text, str):
        raise UnreadableReply("the reply's text is not text")
    return make_reply(
        text or "", _reason(choice.get("finish_reason")), OPENAI_FINISHED, had_reasoning=False
    )


def anthropic_reply(data: Any) -> Reply:
    """A Messages body: the `text` blocks are the answer; `thinking` and `redacted_thinking`
    blocks are not."""
    if isinstance(data, dict):
        reported = _reported(data)
        if reported is not None and not isinstance(data.get("content"), list):
            raise reported
    blocks = data.get("content") if isinstance(data, dict) else None
    if not isinstance(blocks, list):
        raise UnreadableReply("the reply has no content blocks")
    texts, thought = [], False
    for block in blocks:
        if not isinstance(block, dict):
            raise UnreadableReply("a content block is not an object")
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise UnreadableReply("a text block has no text")
            texts.append(text)
        elif kind in ("thinking", "redacted_thinking"):
            thought = True
    return make_reply(
        "".join(texts),
        _reason(data.get("stop_reason")),
        ANTHROPIC_FINISHED,
        had_reasoning=thought,
    )


# -- streams -------------------------------------------------------------------------------------


class StreamDecoder:
    """Turns SSE events into the reply. `feed` returns the answer text the event added (so the
    client knows whether output has begun); `done` is set by the format's end-of-stream marker."""

    finished_reasons: frozenset[str] = OPENAI_FINISHED

    def __init__(self) -> None:
        self.done = False
        self.reason: str | None = None
        self.had_reasoning = False
        self._pieces: list[str] = []

    def feed(self, event: str, data: str) -> str:
        piece = self._piece(event, data)
        if piece:
            self._pieces.append(piece)
        return piece

    def _piece(self, event: str, data: str) -> str:
        raise NotImplementedError

    def reply(self) -> Reply:
        return make_reply(
            "".join(self._pieces),
            self.reason,
            self.finished_reasons,
            had_reasoning=self.had_reasoning,
        )

    @staticmethod
    def _json(data: str) -> dict[str, Any]:
        try:
            payload = json.loads(data) if data.strip() else {}
        except ValueError:
            raise UnreadableReply("a stream event is not JSON") from None
        if not isinstance(payload, dict):
            raise UnreadableReply("a stream event is not a JSON object")
        return payload


class OpenAIStreamDecoder(StreamDecoder):
    """`chat.completion.chunk` events (and `text_completion` ones), ending with `[DONE]`.
    A chunk with `choices: []` (OpenAI's usage-only last chunk) adds nothing."""

    def _piece(self, event: str, data: str) -> str:
        if data.strip() == "[DONE]":
            self.done = True
            return ""
        chunk = self._json(data)
        if chunk.get("error"):
            raise ReportedError(error_message(chunk) or "an error without a message")
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise UnreadableReply("a stream event's choices are not a list")
        if not choices:
            return ""
        choice = choices[0]
        if not isinstance(choice, dict):
            raise UnreadableReply("a stream event has an unexpected shape")
        reason = _reason(choice.get("finish_reason"))
        if reason is not None:
            self.reason = reason
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if _has_reasoning(delta):
                self.had_reasoning = True
            piece = delta.get("content")
        else:
            piece = choice.get("text")
        return piece if isinstance(piece, str) else ""


class AnthropicStreamDecoder(StreamDecoder):
    """Messages events: text deltas are the answer, thinking deltas are not; `message_delta`
    carries the stop reason and `message_stop` ends the stream."""

    finished_reasons = ANTHROPIC_FINISHED

    def _piece(self, event: str, data: str) -> str:
        payload = self._json(data)
        kind = payload.get("type") or event
        if kind == "error":
            raise ReportedError(error_message(payload) or "an error without a message")
        if kind == "message_stop":
            self.done = True
        elif kind == "content_block_start":
            block = payload.get("content_block")
            if isinstance(block, dict):
                if block.get("type") in ("thinking", "redacted_thinking"):
                    self.had_reasoning = True
                elif block.get("type") == "text" and isinstance(block.get("text"), str):
                    return str(block["text"])
        elif kind == "content_block_delta":
            delta = payload.get("delta")
            if isinstance(delta, dict):
                if delta.get("type") in ("thinking_delta", "signature_delta"):
                    self.had_reasoning = True
                elif isinstance(delta.get("text"), str):
                    return str(delta["text"])
        elif kind == "message_delta":
            delta = payload.get("delta")
            if isinstance(delta, dict) and _reason(delta.get("stop_reason")) is not None:
                self.reason = delta["stop_reason"]
        return ""


def sse_events(text: str) -> Iterator[tuple[str, str]]:
    """(event, data) of each event in a complete event-stream body (the WHATWG rules: `data:`
    lines joined by newlines, a blank line dispatches, `:` lines are comments)."""
    event, data = "", list[str]()
    for line in re.split(r"\r\n|\r|\n", text):
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield event or "message", "\n".join(data)


def looks_like_event_stream(body: str) -> bool:
    """A body served with the wrong type that is an event stream all the same."""
    head = body.lstrip()[:16]
    return head.startswith(("data:", "event:", ":"))


def feed_all(decoder: StreamDecoder, events: Iterable[tuple[str, str]]) -> int:
    """Feed events until the end marker; returns how many were fed."""
    count = 0
    for event, data in events:
        if decoder.done:
            break
        count += 1
        decoder.feed(event, data)
    return count
