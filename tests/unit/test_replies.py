"""The reply readers as pure functions: finish reasons, reasoning dropped, error bodies, and the
rules that turn a reply into an edit or a completion (Model replies)."""

from __future__ import annotations

import json

import pytest

from kestrel_lsp.features.edits import completion_text, refusal, replacement_for
from kestrel_lsp.features.notices import WARNING, notice_for, notice_text
from kestrel_lsp.provider.errors import EmptyReplyError, UnfinishedReplyError
from kestrel_lsp.provider.replies import (
    AnthropicStreamDecoder,
    OpenAIStreamDecoder,
    Reply,
    ReportedError,
    UnreadableReply,
    anthropic_reply,
    drop_leading_think,
    error_message,
    feed_all,
    openai_chat_reply,
    openai_fim_reply,
    parse_json,
    sse_events,
)

HALF = 'def add(a, b):\n    """Return the'
CODE = 'def add(a, b):\n    """Return a + b."""\n    return a + b\n'


def chat_body(content, finish="stop", **message):
    return {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content, **message},
             "finish_reason": finish}
        ]
    }  # fmt: skip


def openai_stream(*chunks: dict, done: bool = True) -> str:
    frames = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return "".join(frames) + ("data: [DONE]\n\n" if done else "")


def delta(finish=None, **fields):
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def decode(decoder, text):
    feed_all(decoder, sse_events(text))
    return decoder


# -- OpenAI-compatible, whole bodies --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "text", "reason", "finished"),
    [
        (chat_body(CODE), CODE, "stop", True),
        (chat_body(CODE, finish=None), CODE, None, True),
        (chat_body(HALF, "length"), HALF, "length", False),
        (chat_body("", "length", reasoning_content="Let me think..."), "", "length", False),
        (chat_body(None, "length", reasoning_content="..."), "", "length", False),
        (chat_body("", "stop"), "", "stop", True),
        (chat_body(CODE, "content_filter"), CODE, "content_filter", False),
        (chat_body(CODE, "insufficient_system_resource"), CODE, "insufficient_system_resource",
         False),
        (chat_body(None, "stop", refusal="I can't help with that."), "", "refusal", False),
        (chat_body([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]), "ab", "stop",
         True),
    ],
)  # fmt: skip
def test_openai_chat_body(body, text, reason, finished):
    reply = openai_chat_reply(body)
    assert (reply.text, reply.reason, reply.finished) == (text, reason, finished)


def test_reasoning_fields_are_never_the_answer():
    for field in ("reasoning_content", "reasoning", "reasoning_details"):
        reply = openai_chat_reply(chat_body(CODE, **{field: "```python\nreturn None\n```"}))
        assert reply.text == CODE and reply.had_reasoning


def test_think_block_in_content_is_dropped_before_fences():
    content = "<think>\nMaybe:\n```python\nreturn None\n```\n</think>\n\n```python\n" + CODE + "```"
    reply = openai_chat_reply(chat_body(content))
    assert reply.text == "```python\n" + CODE + "```" and reply.had_reasoning
    assert replacement_for(reply.text, "def add(a, b):\n    return a + b\n") == CODE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", ("plain", False)),
        ("  keep leading spaces", ("  keep leading spaces", False)),
        ("<think>a</think>answer", ("answer", True)),
        ("\n<THINK>a</THINK>\n\n    indented", ("    indented", True)),
        ("<think>a</think><think>b</think>\nx", ("x", True)),
        ("<think>cut off while thinking", ("", True)),
        ("answer <think>later</think>", ("answer <think>later</think>", False)),
    ],
)
def test_drop_leading_think(text, expected):
    assert drop_leading_think(text) == expected


def test_fim_body_and_an_error_object_in_a_200():
    reply = openai_fim_reply({"choices": [{"text": "b\n", "finish_reason": "length"}]})
    assert (reply.text, reply.finished) == ("b\n", False)
    with pytest.raises(ReportedError) as err:
        openai_chat_reply({"error": {"message": "upstream overloaded", "type": "overloaded"}})
    assert err.value.message == "upstream overloaded"
    garbage_replies: list[object] = [{}, {"choices": []}, {"choices": [{"message": "x"}]}, [], "x"]
    for garbage in garbage_replies:
        with pytest.raises(UnreadableReply):
            openai_chat_reply(garbage)


# -- OpenAI-compatible, streams -------------------------------------------------------------------


def test_openai_stream_with_reasoning_and_the_usage_only_last_chunk():
    text = openai_stream(
        delta(role="assistant", content=""),
        delta(reasoning_content="thinking..."),
        delta(content="def f():\n"),
        delta(content="    pass\n"),
        delta(finish="stop"),
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12}},
    )
    decoder = decode(OpenAIStreamDecoder(), text)
    assert decoder.done
    assert decoder.reply() == Reply("def f():\n    pass\n", "stop", True, had_reasoning=True)


def test_openai_stream_cut_at_the_limit_and_ollama_reasoning():
    text = openai_stream(
        delta(reasoning="hmm"), delta(content="x = 1\ny ="), delta(finish="length")
    )
    reply = decode(OpenAIStreamDecoder(), text).reply()
    assert (reply.text, reply.reason, reply.finished, reply.had_reasoning) == (
        "x = 1\ny =",
        "length",
        False,
        True,
    )


def test_openai_stream_error_chunk_carries_its_message():
    text = openai_stream(
        {"error": {"message": "The server had an error while processing your request."}}
    )
    with pytest.raises(ReportedError) as err:
        decode(OpenAIStreamDecoder(), text)
    assert err.value.message == "The server had an error while processing your request."


# -- Anthropic ------------------------------------------------------------------------------------


def message(blocks, stop="end_turn"):
    return {"type": "message", "role": "assistant", "content": blocks, "stop_reason": stop}


@pytest.mark.parametrize(
    ("body", "text", "finished", "thought"),
    [
        (message([{"type": "text", "text": CODE}]), CODE, True, False),
        (message([{"type": "text", "text": CODE}], "stop_sequence"), CODE, True, False),
        (message([{"type": "text", "text": "def add(a"}], "max_tokens"), "def add(a", False, False),
        (message([{"type": "thinking", "thinking": "...", "signature": "s"},
                  {"type": "text", "text": CODE}]), CODE, True, True),
        (message([{"type": "redacted_thinking", "data": "abc"}], "max_tokens"), "", False, True),
        (message([{"type": "thinking", "thinking": "..."}]), "", True, True),
        (message([{"type": "text", "text": "no"}], "refusal"), "no", False, False),
    ],
)  # fmt: skip
def test_anthropic_body(body, text, finished, thought):
    reply = anthropic_reply(body)
    assert (reply.text, reply.finished, reply.had_reasoning) == (text, finished, thought)


def anthropic_stream(*events: tuple[str, dict]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def test_anthropic_stream_with_thinking_and_max_tokens():
    text = anthropic_stream(
        ("message_start", {"type": "message_start", "message": message([], None)}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "```x```"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "sig"}}),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": "def add("}}),
        ("ping", {"type": "ping"}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}}),
        ("message_stop", {"type": "message_stop"}),
    )  # fmt: skip
    decoder = decode(AnthropicStreamDecoder(), text)
    assert decoder.done
    assert decoder.reply() == Reply("def add(", "max_tokens", False, had_reasoning=True)


def test_anthropic_error_event_and_error_body():
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(ReportedError) as err:
        decode(AnthropicStreamDecoder(), anthropic_stream(("error", error)))
    assert err.value.message == "Overloaded"
    with pytest.raises(ReportedError):
        anthropic_reply(error)


# -- event streams and error bodies ---------------------------------------------------------------


def test_sse_events_follow_the_event_stream_rules():
    text = ": a comment\r\nevent: x\r\ndata: one\r\ndata: two\r\n\r\ndata:three\n\ndata: four"
    assert list(sse_events(text)) == [("x", "one\ntwo"), ("message", "three"), ("message", "four")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": {"message": "a"}}', "a"),
        ('[{"error": {"code": 429, "message": "b", "status": "RESOURCE_EXHAUSTED"}}]', "b"),
        ('{"type": "error", "error": {"type": "x", "message": "c"}}', "c"),
        ('{"detail": "d"}', "d"),
        ('{"error": "e"}', "e"),
        ('{"base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}', ""),
        ("not json", ""),
    ],
)
def test_error_message_reads_objects_and_lists(body, message):
    assert error_message(parse_json(body)) == message


# -- what becomes an edit, and what a completion inserts ------------------------------------------


@pytest.mark.parametrize(
    ("reply", "refused"),
    [
        (Reply(CODE, "stop"), None),
        (Reply("```python\n" + CODE + "```", None), None),
        (Reply("def add(a, b):\n    ", "length", False), UnfinishedReplyError),
        (Reply("", "length", False, had_reasoning=True), UnfinishedReplyError),
        (Reply(CODE, "content_filter", False), UnfinishedReplyError),
        (Reply("", "stop"), EmptyReplyError),
        (Reply("```python\n\n```", "stop"), EmptyReplyError),
        (Reply("  \n", "end_turn"), EmptyReplyError),
    ],
)
def test_only_a_finished_reply_with_code_becomes_an_edit(reply, refused):
    problem = refusal(reply, "deepseek")
    assert (type(problem) if problem else None) is refused


def test_the_notice_texts():
    unfinished = refusal(Reply("", "length", False, had_reasoning=True), "deepseek")
    assert unfinished is not None and notice_text(unfinished).startswith(
        "Kestrel: deepseek stopped before its reply was complete (length), so nothing was applied."
    )
    assert notice_for(unfinished).severity == WARNING and notice_for(unfinished).state is None
    assert notice_text(unfinished).endswith("The model spent its token budget thinking.")
    hint = refusal(Reply("", "length", False, had_reasoning=True), "deepseek", "provider")
    assert hint is not None and 'set kestrel.reasoning to "off"' in notice_text(hint)
    empty = refusal(Reply("", "stop"), "minimax")
    assert empty is not None
    assert notice_text(empty) == "Kestrel: minimax returned an empty reply, so nothing was applied."


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        (Reply("return a + b", "stop"), "return a + b"),
        (Reply("return a + b\nprint(", "length", False), "return a + b"),
        (Reply("return a", "length", False), ""),
        (Reply("```python\nx = 1\ny = 2\nz", "length", False), "x = 1\ny = 2"),
        (Reply("x = 1\n", "content_filter", False), ""),
        (Reply("", "stop"), ""),
        (Reply("  \n", "stop"), ""),
    ],
)
def test_completion_text(reply, text):
    assert completion_text(reply) == text
