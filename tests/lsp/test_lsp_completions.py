"""SPEC, Completions: inline and classic, debounced, superseded and cancelled like an editor
types; no AI item in `textDocument/completion` when the client has inline completion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import Editor
from lsp_steps import (
    NEOVIM,
    VSCODE,
    GatedSimulator,
    assert_one_line_error,
    cancel,
    completion_params,
    inline_params,
    jsonrpc_error,
    kestrel,
    states,
    typed_request,
)

FIM_REPLY = "sim_completion()"
TEXT = "def add(a, b):\n    return a + b\n\n\n"
# These tests are about what reaches the editor, so the provider's text is scripted.
SCRIPT = {"reply": FIM_REPLY}


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(SCRIPT) as server:
        yield server


@pytest.fixture
async def gated() -> AsyncIterator[GatedSimulator]:
    async with GatedSimulator(SCRIPT) as server:
        yield server


def inline_texts(result: Any) -> list[str]:
    assert isinstance(result, types.InlineCompletionList), result
    return [str(item.insert_text) for item in result.items]


async def test_a_typing_burst_costs_one_provider_request(sim: SimulatorServer) -> None:
    # Like VS Code: each keystroke, then a request; the previous one is cancelled by the
    # client (here every other time) or just superseded by the newer request.
    word = "total"
    async with kestrel(sim, caps=VSCODE, init={"completion": {"debounceMs": 400}}) as ed:
        uri = ed.open(TEXT)
        pending: list[asyncio.Future[Any]] = []
        cancelled: set[int] = set()
        for column, char in enumerate(word):
            ed.type_text(3, column, char)
            if column > 0 and (column - 1) % 2 == 0:
                cancel(ed, f"inline-{column - 1}")
                cancelled.add(column - 1)
            params = inline_params(uri, 3, column + 1)
            pending.append(
                typed_request(ed, types.TEXT_DOCUMENT_INLINE_COMPLETION, params, f"inline-{column}")
            )
        results = await asyncio.gather(*pending, return_exceptions=True)

        last = len(word) - 1
        assert inline_texts(results[last]) == [FIM_REPLY]
        for index, result in enumerate(results[:last]):
            if index in cancelled:
                assert isinstance(result, JsonRpcRequestCancelled), (index, result)
                assert_one_line_error(result, -32800)
            else:
                assert inline_texts(result) == [], (index, result)
        assert cancelled == {0, 2}
        assert [r["path"] for r in sim.requests] == ["/beta/completions"]
        assert ed.notices == []


async def classic(ed: Editor, uri: str, line: int, character: int) -> types.CompletionList:
    result = await ed.client.text_document_completion_async(completion_params(uri, line, character))
    assert isinstance(result, types.CompletionList)
    return result


async def test_classic_completion_has_no_ai_item_when_the_client_has_inline(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=VSCODE) as ed:
        uri = ed.open(TEXT)
        assert not (await classic(ed, uri, 3, 0)).items
        assert inline_texts(
            await ed.client.text_document_inline_completion_async(inline_params(uri, 3, 0))
        ) == [FIM_REPLY]
        assert len(sim.requests) == 1  # only the inline request asked the provider


async def test_classic_completion_carries_the_ai_text_otherwise(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=NEOVIM, init={"completion": {"debounceMs": 300}}) as ed:
        uri = ed.open(TEXT)
        ed.type_text(3, 0, "t")
        method = types.TEXT_DOCUMENT_COMPLETION
        superseded = typed_request(ed, method, completion_params(uri, 3, 1), "completion-1")
        ed.type_text(3, 1, "o")
        newest = typed_request(ed, method, completion_params(uri, 3, 2), "completion-2")
        assert not (await superseded).items

        [item] = (await newest).items
        assert item.insert_text == FIM_REPLY
        assert isinstance(item.text_edit, types.TextEdit)
        assert item.text_edit.new_text == FIM_REPLY
        assert item.text_edit.range == types.Range(types.Position(3, 2), types.Position(3, 2))
        assert len(sim.requests) == 1
        assert ed.notices == []


@pytest.mark.parametrize("caps", [VSCODE, NEOVIM])
async def test_completions_disabled(sim: SimulatorServer, caps: str) -> None:
    async with kestrel(sim, caps=caps, init={"completion": {"enabled": False}}) as ed:
        uri = ed.open(TEXT)
        if caps == VSCODE:
            result = await ed.client.text_document_inline_completion_async(inline_params(uri, 3, 0))
            assert inline_texts(result) == []
        else:
            assert not (await classic(ed, uri, 3, 0)).items
        assert sim.requests == []
        assert ed.notices == []


async def test_a_chat_provider_completes_without_fences(sim: SimulatorServer) -> None:
    sim.set_script({"reply": "```python\ntotal = add(1, 2)\n```"})
    init = {"provider": "openai-compatible", "model": "local-coder"}
    async with kestrel(sim, caps=VSCODE, init=init) as ed:
        uri = ed.open(TEXT)
        result = await ed.client.text_document_inline_completion_async(inline_params(uri, 3, 0))
        [text] = inline_texts(result)
        assert text.strip() == "total = add(1, 2)"
        assert [(r["path"], r["model"]) for r in sim.requests] == [
            ("/chat/completions", "local-coder")
        ]


async def test_completions_give_up_quietly_past_the_retry_budget(sim: SimulatorServer) -> None:
    # Retry-After: 3 s is within what an explicit action waits, past what a completion may.
    sim.set_script({"then": {"status": 429, "headers": {"Retry-After": "3"}}})
    async with kestrel(sim, caps=VSCODE) as ed:
        uri = ed.open(TEXT)
        result = await ed.client.text_document_inline_completion_async(inline_params(uri, 3, 0))
        assert inline_texts(result) == []
        await ed.wait_for_state("rateLimited")
        assert ed.notices == []
        assert states(ed) == ["ok", "rateLimited"]
        assert len(sim.requests) == 1


async def test_a_settings_problem_is_told_once_to_automatic_completions(
    sim: SimulatorServer,
) -> None:
    # openai-compatible has no default baseUrl: nothing can be asked until one is set.
    init = {"provider": "openai-compatible", "baseUrl": None, "model": "local-coder"}
    async with kestrel(sim, caps=VSCODE, init=init) as ed:
        uri = ed.open(TEXT)
        for column in range(3):
            ed.type_text(3, column, "x")
            result = await ed.client.text_document_inline_completion_async(
                inline_params(uri, 3, column + 1)
            )
            assert inline_texts(result) == []
        needs = "Kestrel: provider openai-compatible needs kestrel.baseUrl"
        assert [(n.type, n.message[: len(needs)]) for n in ed.notices] == [
            (types.MessageType.Error, needs)
        ]
        # An explicit action is told again.
        action = await ed.action("refactor.rewrite.kestrel.docstring")
        assert (await ed.resolve(action)).edit is None
        assert len(ed.notices) == 2
        assert sim.requests == []


async def test_in_flight_completions_are_superseded_or_cancelled(gated: GatedSimulator) -> None:
    method = types.TEXT_DOCUMENT_INLINE_COMPLETION
    async with kestrel(gated, caps=VSCODE) as ed:
        uri = ed.open(TEXT)
        gated.hold()
        ed.type_text(3, 0, "t")
        first = typed_request(ed, method, inline_params(uri, 3, 1), "inline-a")
        await gated.wait_for_requests(1)
        ed.type_text(3, 1, "o")
        second = typed_request(ed, method, inline_params(uri, 3, 2), "inline-b")
        await gated.wait_for_requests(2)  # the first one's HTTP call was already out
        # Bounded: the simulator holds its answers, so a wrong server would never answer.
        superseded = await asyncio.wait_for(first, 30)
        assert inline_texts(superseded) == []  # superseded by the newer keystroke
        cancel(ed, "inline-b")
        assert_one_line_error(await asyncio.wait_for(jsonrpc_error(second), 30), -32800)
        gated.release()

        third = await ed.client.text_document_inline_completion_async(inline_params(uri, 3, 2))
        assert inline_texts(third) == [FIM_REPLY]
        assert len(gated.requests) == 3
        assert ed.notices == []
