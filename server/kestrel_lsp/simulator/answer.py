"""Turns a scripted step and a provider request into a planned HTTP answer (no I/O here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal, TypeAlias

import attrs

from kestrel_lsp.simulator import reply_text, wire
from kestrel_lsp.simulator.script import JsonValue, Script, Step
from kestrel_lsp.simulator.wire import Wire

Headers = list[tuple[str, str]]
JSON_TYPE = ("Content-Type", "application/json")
SSE_TYPE = ("Content-Type", "text/event-stream")
DEFAULT_REDIRECT = "https://redirected.invalid/v1/chat/completions"


@attrs.frozen
class Plain:
    """A complete response with Content-Length; the connection stays usable."""

    status: int
    headers: Headers
    body: bytes


@attrs.frozen
class Stream:
    """A chunked SSE response, or with `ends="close"` a close-delimited one that stops early."""

    status: int
    headers: Headers
    frames: list[bytes]
    ends: Literal["complete", "close"] = "complete"


@attrs.frozen
class ShortBody:
    """Headers promising `declared_length` bytes, fewer bytes, then a closed connection."""

    status: int
    headers: Headers
    body: bytes
    declared_length: int


@attrs.frozen
class Reset:
    """Close at once, without a byte of response."""


@attrs.frozen
class Stall:
    """Say nothing for `seconds`, then close."""

    seconds: float


Answer: TypeAlias = Plain | Stream | ShortBody | Reset | Stall


@attrs.frozen
class ProviderRequest:
    wire: Wire
    n: int
    body: Mapping[str, JsonValue]
    stream: bool
    model: str
    prompt_chars: int


def log_status(answer: Answer) -> int | str:
    if isinstance(answer, Reset):
        return "reset"
    if isinstance(answer, Stall):
        return "stall"
    return answer.status


def json_answer(status: int, body: JsonValue, extra: Headers | None = None) -> Plain:
    return Plain(status, [JSON_TYPE, *(extra or [])], json.dumps(body).encode())


def error_answer(
    request_wire: Wire, status: int, message: str | None = None, extra: Headers | None = None
) -> Plain:
    return json_answer(status, wire.error_body(request_wire, status, message), extra)


def _reply_text(request: ProviderRequest, step: Step, script: Script) -> str:
    if step.reply is not None:
        return step.reply
    if script.reply is not None:
        return script.reply
    if request.wire is Wire.FIM:
        return reply_text.default_fim_reply(request.body)
    return reply_text.default_chat_reply(request.body)


def _custom_body(status: int, body: JsonValue, headers: Headers) -> Plain:
    if isinstance(body, str):
        return Plain(
            status, [("Content-Type", "text/plain; charset=utf-8"), *headers], body.encode()
        )
    return json_answer(status, body, headers)


def _with_headers(defaults: Headers, step_headers: Headers) -> Headers:
    """Step headers win over the defaults of the same name."""
    overridden = {name.lower() for name, _ in step_headers}
    return [h for h in defaults if h[0].lower() not in overridden] + step_headers


def plan_answer(request: ProviderRequest, step: Step, script: Script) -> Answer:
    status = step.effective_status
    headers = list(step.headers)
    fault = step.fault
    if fault == "reset":
        return Reset()
    if fault == "stall":
        return Stall(step.delay_ms / 1000)
    if fault == "html":
        html_type = ("Content-Type", "text/html")
        return Plain(status, _with_headers([html_type], headers), wire.html_page(status))
    if fault == "redirect":
        location = step.location or DEFAULT_REDIRECT
        return json_answer(status, {"redirect": location}, [("Location", location), *headers])
    if fault == "garbage":
        if request.stream:
            garbage = b"this is not server-sent events\n<<<{{{ \xff\xfe }}}>>>\n\n"
            return Plain(status, _with_headers([SSE_TYPE], headers), garbage)
        return Plain(status, _with_headers([JSON_TYPE], headers), b"<<<not json {{{ \xff\xfe")
    if step.sse is not None:
        # A raw event stream (a provider's documented transcript), whatever was asked for.
        sse_headers = _with_headers([SSE_TYPE, ("Cache-Control", "no-cache")], headers)
        return Stream(status, sse_headers, [step.sse.encode()])
    if step.body is not None:
        return _custom_body(status, step.body, headers)
    if status != 200:
        message = step.message
        if message is not None:
            message = message.replace("{model}", request.model)
        return error_answer(request.wire, status, message, headers)
    text = _reply_text(request, step, script)
    if step.finish in ("length", "max_tokens") and step.reply is None and script.reply is None:
        text = text[: len(text) // 2]  # cut off at the token limit
    if step.think is not None:
        text = f"<think>\n{step.think}\n</think>\n\n{text}"
    shape = wire.ReplyShape(finish=step.finish, reasoning=step.reasoning)
    frames = wire.StreamFrames(
        request.wire, request.n, request.model, text, request.prompt_chars, shape
    )
    streamed = request.stream if step.transport is None else step.transport == "stream"
    stream_headers = _with_headers([SSE_TYPE, ("Cache-Control", "no-cache")], headers)
    if fault == "truncate-before-output":
        if streamed:
            return Stream(status, stream_headers, [], ends="close")
        return ShortBody(status, _with_headers([JSON_TYPE], headers), b"", 256)
    if fault == "stream-error":
        if streamed:
            error_frame = wire.stream_error_frame(request.wire, step.message)
            return Stream(status, stream_headers, [error_frame])
        # Some gateways answer an error inside a 200: the body has no choices/content.
        return json_answer(status, wire.stream_error_body(request.wire, step.message), headers)
    body = wire.reply_body(
        request.wire, request.n, request.model, text, request.prompt_chars, shape
    )
    if fault == "truncate":
        if streamed:
            return Stream(status, stream_headers, frames.truncated(), ends="close")
        encoded = json.dumps(body).encode()
        return ShortBody(
            status, _with_headers([JSON_TYPE], headers), encoded[: len(encoded) // 2], len(encoded)
        )
    if streamed:
        return Stream(status, stream_headers, frames.complete())
    return json_answer(status, body, headers)
