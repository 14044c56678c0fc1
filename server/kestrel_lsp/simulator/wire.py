"""Reply bodies and SSE frames in the providers' wire formats (OpenAI chat, DeepSeek FIM,
Anthropic Messages), and their error bodies."""

from __future__ import annotations

import enum
import json
import re
import time
from http import HTTPStatus

import attrs

from kestrel_lsp.simulator.script import JsonValue

Json = dict[str, JsonValue]


class Wire(enum.Enum):
    CHAT = "openai-chat"
    FIM = "deepseek-fim"
    ANTHROPIC = "anthropic"


WIRE_BY_PATH = {
    "/chat/completions": Wire.CHAT,
    "/v1/chat/completions": Wire.CHAT,
    "/beta/completions": Wire.FIM,
    "/v1/messages": Wire.ANTHROPIC,
}

# status: (OpenAI type, OpenAI code, Anthropic type, message)
_ERRORS: dict[int, tuple[str, str, str, str]] = {
    400: (
        "invalid_request_error",
        "invalid_request_error",
        "invalid_request_error",
        "Invalid request",
    ),
    401: (
        "authentication_error",
        "invalid_api_key",
        "authentication_error",
        "Authentication failed: the API key is missing, wrong, or expired",
    ),
    402: ("unknown_error", "invalid_request_error", "billing_error", "Insufficient Balance"),
    403: ("permission_error", "permission_denied", "permission_error", "Permission denied"),
    404: ("invalid_request_error", "model_not_found", "not_found_error", "Not found"),
    408: ("timeout_error", "timeout", "timeout_error", "Request timed out"),
    413: ("invalid_request_error", "request_too_large", "request_too_large", "Request too large"),
    429: (
        "rate_limit_error",
        "rate_limit_exceeded",
        "rate_limit_error",
        "Rate limit reached for requests",
    ),
    500: ("server_error", "internal_error", "api_error", "The server had an error"),
    503: ("server_error", "service_unavailable", "api_error", "Service temporarily unavailable"),
    504: ("timeout_error", "gateway_timeout", "timeout_error", "Gateway timeout"),
    529: ("overloaded_error", "overloaded", "overloaded_error", "Overloaded"),
}


def reason_phrase(status: int) -> str:
    if status == 529:
        return "Site is overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_body(wire: Wire, status: int, message: str | None = None) -> Json:
    fallback = ("api_error", "error", "api_error", reason_phrase(status))
    openai_type, code, anthropic_type, default_message = _ERRORS.get(status, fallback)
    text = message if message is not None else default_message
    if wire is Wire.ANTHROPIC:
        return {"type": "error", "error": {"type": anthropic_type, "message": text}}
    return {"error": {"message": text, "type": openai_type, "param": None, "code": code}}


def html_page(status: int) -> bytes:
    title = f"{status} {reason_phrase(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _usage(wire: Wire, prompt_chars: int, text: str) -> Json:
    prompt_tokens = prompt_chars // 4 + 1
    completion_tokens = len(text) // 4 + 1
    if wire is Wire.ANTHROPIC:
        return {"input_tokens": prompt_tokens, "output_tokens": completion_tokens}
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


@attrs.frozen
class ReplyShape:
    """How a reply ends and what reasoning comes with it. `finish` is a finish reason in
    either wire's words (`length` and `max_tokens` are one thing); None means finished."""

    finish: str | None = None
    reasoning: str | None = None

    def reason(self, wire: Wire) -> str:
        if wire is Wire.ANTHROPIC:
            return _ANTHROPIC_REASON.get(self.finish or "end_turn", self.finish or "end_turn")
        return _OPENAI_REASON.get(self.finish or "stop", self.finish or "stop")


_ANTHROPIC_REASON = {"length": "max_tokens", "stop": "end_turn", "content_filter": "refusal"}
_OPENAI_REASON = {"max_tokens": "length", "end_turn": "stop", "refusal": "content_filter"}
FINISHED = ReplyShape()


def _anthropic_blocks(text: str, shape: ReplyShape) -> list[JsonValue]:
    blocks: list[JsonValue] = []
    if shape.reasoning is not None:
        blocks.append({"type": "thinking", "thinking": shape.reasoning, "signature": "sim-sig"})
    if text or shape.reasoning is None:
        blocks.append({"type": "text", "text": text})
    return blocks


def reply_body(
    wire: Wire, n: int, model: str, text: str, prompt_chars: int, shape: ReplyShape = FINISHED
) -> Json:
    """The non-streaming answer."""
    usage = _usage(wire, prompt_chars, text)
    if wire is Wire.ANTHROPIC:
        return {
            "id": f"msg_sim_{n}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": _anthropic_blocks(text, shape),
            "stop_reason": shape.reason(wire),
            "stop_sequence": None,
            "usage": usage,
        }
    common: Json = {"id": f"sim-{n}", "created": int(time.time()), "model": model}
    reason = shape.reason(wire)
    if wire is Wire.FIM:
        choice: Json = {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}
        return {**common, "object": "text_completion", "choices": [choice], "usage": usage}
    message: Json = {"role": "assistant", "content": text}
    if shape.reasoning is not None:
        message["reasoning_content"] = shape.reasoning
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}
    return {**common, "object": "chat.completion", "choices": [choice], "usage": usage}


def text_pieces(text: str) -> list[str]:
    """Split into word-sized deltas whose concatenation is exactly `text`."""
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


def sse(data: JsonValue | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()


class StreamFrames:
    """A streamed answer as SSE frames: `opening` (no text yet), one frame per text piece in
    `content`, and `closing` (finish reason, usage, [DONE] or message_stop)."""

    def __init__(
        self,
        wire: Wire,
        n: int,
        model: str,
        text: str,
        prompt_chars: int,
        shape: ReplyShape = FINISHED,
    ) -> None:
        self.wire = wire
        usage = _usage(wire, prompt_chars, text)
        pieces = text_pieces(text)
        if wire is Wire.ANTHROPIC:
            message = reply_body(wire, n, model, "", prompt_chars)
            message.update(content=[], stop_reason=None, usage={**usage, "output_tokens": 1})
            self.opening = [sse({"type": "message_start", "message": message}, "message_start")]
            index = 0
            if shape.reasoning is not None:
                self.opening += _anthropic_thinking_frames(shape.reasoning)
                index = 1
            self.content = []
            text_block = bool(text) or shape.reasoning is None
            if text_block:
                self.opening.append(
                    sse(
                        {
                            "type": "content_block_start",
                            "index": index,
                            "content_block": {"type": "text", "text": ""},
                        },
                        "content_block_start",
                    )
                )
                self.content = [
                    sse(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                        "content_block_delta",
                    )
                    for piece in pieces
                ]
            block_stop = sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            self.closing = [
                *([block_stop] if text_block else []),
                sse(
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": shape.reason(wire), "stop_sequence": None},
                        "usage": {"output_tokens": usage["output_tokens"]},
                    },
                    "message_delta",
                ),
                sse({"type": "message_stop"}, "message_stop"),
            ]
            return
        created = int(time.time())
        is_fim = wire is Wire.FIM
        obj = "text_completion" if is_fim else "chat.completion.chunk"

        def chunk(delta: Json, finish: str | None = None, **extra: JsonValue) -> bytes:
            choice: Json = {"index": 0, "finish_reason": finish}
            if is_fim:
                choice["text"] = delta.get("content", "")
            else:
                choice["delta"] = delta
            body: Json = {"id": f"sim-{n}", "object": obj, "created": created, "model": model}
            return sse({**body, "choices": [choice], **extra})

        self.opening = [] if is_fim else [chunk({"role": "assistant", "content": ""})]
        if shape.reasoning is not None and not is_fim:
            self.opening += [
                chunk({"reasoning_content": piece}) for piece in text_pieces(shape.reasoning)
            ]
        self.content = [chunk({"content": piece}) for piece in pieces]
        self.closing = [chunk({}, shape.reason(wire), usage=usage), sse("[DONE]")]

    def complete(self) -> list[bytes]:
        return self.opening + self.content + self.closing

    def truncated(self) -> list[bytes]:
        """Some of the text, then nothing: no finish, no [DONE] / message_stop."""
        return self.opening + self.content[: max(1, len(self.content) // 2)]


def _anthropic_thinking_frames(reasoning: str) -> list[bytes]:
    start: Json = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": ""},
    }
    deltas = [
        sse(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": piece},
            },
            "content_block_delta",
        )
        for piece in text_pieces(reasoning)
    ]
    signature: Json = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "signature_delta", "signature": "sim-sig"},
    }
    return [
        sse(start, "content_block_start"),
        *deltas,
        sse(signature, "content_block_delta"),
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
    ]


def stream_error_body(wire: Wire, message: str | None) -> Json:
    text = message if message is not None else "overloaded"
    if wire is Wire.ANTHROPIC:
        return {"type": "error", "error": {"type": "overloaded_error", "message": text}}
    return {"error": {"message": text, "type": "overloaded_error", "code": "overloaded"}}


def stream_error_frame(wire: Wire, message: str | None) -> bytes:
    event = "error" if wire is Wire.ANTHROPIC else None
    return sse(stream_error_body(wire, message), event)
