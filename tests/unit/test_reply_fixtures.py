"""The documented replies (tests/fixtures/replies) through the pure reply readers: each fixture
names its doc page, and each reads as Kestrel's rules say."""

from __future__ import annotations

import json

import pytest

from kestrel_lsp.features.edits import completion_text, refusal, replacement_for
from kestrel_lsp.provider.errors import EmptyReplyError, UnfinishedReplyError
from kestrel_lsp.provider.policy import is_quota_exhausted, provider_message, server_said
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.replies import (
    AnthropicStreamDecoder,
    OpenAIStreamDecoder,
    Reply,
    ReportedError,
    anthropic_reply,
    feed_all,
    openai_chat_reply,
    openai_fim_reply,
    sse_events,
)

from lsp_harness import SAMPLE
from reply_fixtures import CHAT_FIXTURES, DOCSTRING_EDIT, FIM_LENGTH, FIXTURES, Fixture, fixture_id


def read(fixture: Fixture) -> Reply:
    if fixture.is_stream:
        decoder = AnthropicStreamDecoder() if fixture.wire == "anthropic" else OpenAIStreamDecoder()
        feed_all(decoder, sse_events(fixture.text()))
        assert decoder.done, "a documented stream ends with its end marker"
        return decoder.reply()
    parse = anthropic_reply if fixture.wire == "anthropic" else openai_chat_reply
    return parse(fixture.body())


def test_every_fixture_file_is_in_the_table_and_names_a_doc_page():
    listed = {f.path for f in [*CHAT_FIXTURES, FIM_LENGTH]}
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.is_file()}
    assert listed == on_disk
    for fixture in [*CHAT_FIXTURES, FIM_LENGTH]:
        assert fixture.source().startswith("https://"), fixture.path


REPLIES = [f for f in CHAT_FIXTURES if f.status == 200]
ERRORS = [f for f in CHAT_FIXTURES if f.status != 200]


@pytest.mark.parametrize("fixture", REPLIES, ids=fixture_id)
def test_documented_replies_read_as_the_rules_say(fixture: Fixture) -> None:
    if fixture.kind == "reported":
        with pytest.raises(ReportedError) as err:
            read(fixture)
        assert err.value.message == fixture.detail
        return
    reply = read(fixture)
    refused = refusal(reply, fixture.provider)
    if fixture.kind == "edit":
        assert refused is None
        original = "def add(a, b):\n    return a + b\n"
        assert SAMPLE.replace(original, replacement_for(reply.text, original)) == DOCSTRING_EDIT
        assert "return None" not in reply.text  # no decoy from the reasoning
    elif fixture.kind == "unfinished":
        assert isinstance(refused, UnfinishedReplyError) and refused.reason == fixture.detail
    else:
        assert fixture.kind == "empty" and isinstance(refused, EmptyReplyError)


@pytest.mark.parametrize("fixture", ERRORS, ids=fixture_id)
def test_documented_error_bodies(fixture: Fixture) -> None:
    raw = json.dumps(fixture.body())
    markers = PRESETS[fixture.provider].profile.quota_markers
    assert is_quota_exhausted(fixture.status, raw, markers) is (fixture.kind == "quota")
    assert not provider_message(raw).startswith(("[", "{"))
    if fixture.kind == "rejected":
        assert server_said(raw) == fixture.detail


def test_deepseek_fim_cut_at_the_limit_keeps_its_complete_lines():
    reply = openai_fim_reply(FIM_LENGTH.body())
    assert (reply.finished, reply.reason) == (False, "length")
    assert completion_text(reply) == "return a + b\n\n\ndef sub(a, b):"
