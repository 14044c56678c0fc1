"""Positions as LSP 3.17 reads them, through the real server: a character past the end of its line
means the end of that line, a line past the end of the document means the end of the document —
in code actions, completions, inline completions and incremental `didChange` ranges alike. Only a
negative or non-integer value is invalid params (−32602)."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import SAMPLE, URI, Editor
from lsp_steps import (
    NEOVIM,
    SELECTION,
    VSCODE,
    PromptRecorder,
    completion_params,
    inline_params,
    jsonrpc_error,
    kestrel,
    raw_request,
    the_edit,
)

INVALID_PARAMS = -32602
NO_DEBOUNCE = {"completion": {"debounceMs": 0}}
# SAMPLE's lines: "def add(a, b):" (14 characters), "    return a + b", "", "",
# "print(add(1, 2))", "" — six lines, the last one empty.
LAST_LINE = 5


@pytest.fixture
async def recorder() -> Any:
    async with PromptRecorder() as server:
        yield server


def selection_data(actions: list[types.CodeAction]) -> Any:
    [selection] = [a for a in actions if a.kind == SELECTION]
    return selection.data


async def test_a_code_action_range_past_the_line_or_the_document_means_its_end(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        # The case: a selection to the end of line 0 sent as character 80.
        past_line = await ed.actions(start=(0, 0), end=(0, 80))
        assert selection_data(past_line) == selection_data(await ed.actions((0, 0), (0, 14)))
        past_document = await ed.actions(start=(1, 0), end=(99, 7))
        in_range = await ed.actions(start=(1, 0), end=(LAST_LINE, 0))
        assert selection_data(past_document) == selection_data(in_range)
        # Both ends past the end: an empty range, so nothing to rewrite, but an answer.
        assert [a.kind for a in await ed.actions((40, 2), (99, 0))] == [
            "refactor.rewrite.kestrel.docstring"
        ]

        resolved = await ed.resolve(next(a for a in past_line if a.kind == SELECTION))
        edit = the_edit(resolved)
        assert edit.text_document.version == 1
        [text_edit] = edit.edits
        assert text_edit.range == types.Range(types.Position(0, 0), types.Position(1, 0))
        assert ed.notices == []


@pytest.mark.parametrize("caps", [VSCODE, NEOVIM], ids=["inline", "classic"])
async def test_completions_past_the_line_or_the_document_are_asked_at_its_end(
    recorder: PromptRecorder, caps: str
) -> None:
    async with kestrel(recorder, caps=caps, init=NO_DEBOUNCE) as ed:
        ed.open()

        async def complete(line: int, character: int) -> tuple[str, str]:
            if caps == VSCODE:
                result: Any = await ed.client.text_document_inline_completion_async(
                    inline_params(URI, line, character)
                )
                assert isinstance(result, types.InlineCompletionList) and result.items
            else:
                result = await ed.client.text_document_completion_async(
                    completion_params(URI, line, character)
                )
                assert isinstance(result, types.CompletionList) and result.items
            return recorder.fim()

        assert await complete(0, 80) == await complete(0, 14)
        assert await complete(0, 80) == ("def add(a, b):", SAMPLE[len("def add(a, b):") :])
        assert await complete(99, 3) == (SAMPLE, "") == await complete(LAST_LINE, 0)
        assert ed.notices == []


async def test_incremental_changes_past_the_end_edit_at_the_end(recorder: PromptRecorder) -> None:
    async with kestrel(recorder, caps=NEOVIM, init=NO_DEBOUNCE) as ed:
        ed.open()
        ed.type_text(0, 80, "  # adds")  # past line 0's end: appended to that line
        ed.type_text(99, 0, "tail")  # past the document's end: appended to the document
        result = await ed.client.text_document_completion_async(completion_params(URI, 99, 0))
        assert isinstance(result, types.CompletionList) and result.items
        expected = SAMPLE.replace("def add(a, b):", "def add(a, b):  # adds") + "tail"
        assert recorder.fim() == (expected, "")

        # The server's copy is current (version 3), so an action on it gets a versioned edit.
        resolved = await ed.resolve(await ed.action(SELECTION, start=(0, 0), end=(0, 999)))
        assert the_edit(resolved).text_document.version == 3


@pytest.mark.parametrize(
    ("method", "position"),
    [
        (types.TEXT_DOCUMENT_CODE_ACTION, {"line": -1, "character": 0}),
        (types.TEXT_DOCUMENT_CODE_ACTION, {"line": 0, "character": 1.5}),
        (types.TEXT_DOCUMENT_COMPLETION, {"line": 0, "character": -4}),
        (types.TEXT_DOCUMENT_COMPLETION, {"line": "1", "character": 0}),
        (types.TEXT_DOCUMENT_INLINE_COMPLETION, {"line": 2.0, "character": 0}),
        (types.TEXT_DOCUMENT_INLINE_COMPLETION, {"line": 0, "character": True}),
    ],
)
async def test_negative_or_non_integer_positions_are_invalid_params(
    sim: SimulatorServer, method: str, position: dict[str, Any]
) -> None:
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        error = await jsonrpc_error(raw_request(ed, method, params_for(method, position)))
        assert error.code == INVALID_PARAMS
        await still_serving(ed)
        assert sim.requests == []


def params_for(method: str, position: dict[str, Any]) -> dict[str, Any]:
    document = {"uri": URI}
    if method == types.TEXT_DOCUMENT_CODE_ACTION:
        return {
            "textDocument": document,
            "range": {"start": position, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []},
        }
    params: dict[str, Any] = {"textDocument": document, "position": position}
    if method == types.TEXT_DOCUMENT_INLINE_COMPLETION:
        params["context"] = {"triggerKind": 2}
    return params


async def still_serving(ed: Editor) -> None:
    assert selection_data(await ed.actions((0, 0), (1, 0))) is not None
