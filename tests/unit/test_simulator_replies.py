"""The simulator's real-reply scripts, planned without I/O and read back through Kestrel's own
reply readers: each wire, streamed or not, says what the script promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kestrel_lsp.provider.replies import (
    AnthropicStreamDecoder,
    OpenAIStreamDecoder,
    Reply,
    anthropic_reply,
    feed_all,
    openai_chat_reply,
    sse_events,
)
from kestrel_lsp.simulator.answer import Plain, ProviderRequest, Stream, plan_answer
from kestrel_lsp.simulator.script import JsonValue, ScriptPlayer, load_script, named_scripts
from kestrel_lsp.simulator.wire import Wire

USER = "Task: add a docstring\n\n```python\ndef add(a, b):\n    return a + b\n```"


def reply_of(script: str, wire: Wire, stream: bool) -> Reply:
    loaded = load_script(script)
    body: dict[str, JsonValue] = {
        "model": "m",
        "messages": [{"role": "user", "content": USER}],
        "stream": stream,
    }
    request = ProviderRequest(wire, 1, body, stream, "m", len(USER))
    answer = plan_answer(request, ScriptPlayer(loaded).next_step(), loaded)
    anthropic = wire is Wire.ANTHROPIC
    if isinstance(answer, Stream):
        decoder = AnthropicStreamDecoder() if anthropic else OpenAIStreamDecoder()
        feed_all(decoder, sse_events(b"".join(answer.frames).decode()))
        assert decoder.done
        return decoder.reply()
    assert isinstance(answer, Plain) and answer.status == 200
    data = json.loads(answer.body)
    return anthropic_reply(data) if anthropic else openai_chat_reply(data)


BOTH = pytest.mark.parametrize(
    ("wire", "stream"),
    [(Wire.CHAT, True), (Wire.CHAT, False), (Wire.ANTHROPIC, True), (Wire.ANTHROPIC, False)],
)


@BOTH
def test_real_reply_scripts(wire: Wire, stream: bool) -> None:
    anthropic = wire is Wire.ANTHROPIC
    limit = "max_tokens" if anthropic else "length"
    cut = reply_of("cut-off", wire, stream)
    assert (cut.reason, cut.finished) == (limit, False) and cut.text
    whole = reply_of("ok", wire, stream)
    assert whole.finished and whole.text.startswith(cut.text) and len(cut.text) < len(whole.text)
    thought = reply_of("all-reasoning", wire, stream)
    assert (thought.text, thought.reason, thought.had_reasoning) == ("", limit, True)
    assert reply_of("empty-reply", wire, stream).text == ""
    filtered = reply_of("content-filter", wire, stream)
    assert filtered.reason == ("refusal" if anthropic else "content_filter")
    think = reply_of("think-in-content", wire, stream)
    assert think.finished and think.had_reasoning and think.text == whole.text


@BOTH
def test_the_other_transport(wire: Wire, stream: bool) -> None:
    assert reply_of("json-for-stream", wire, stream).text == reply_of("ok", wire, False).text
    assert reply_of("stream-for-json", wire, stream).text == reply_of("ok", wire, True).text


def test_every_named_script_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    missing = [name for name in named_scripts() if f"| `{name}`" not in doc]
    assert missing == []
