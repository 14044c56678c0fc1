"""SPEC, Bad input, one request at a time: each gets a result or a one-line JSON-RPC error with no
traceback, no popup, and the server goes on answering. (Fuzzing lives in its own suite.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import URI, Editor
from lsp_steps import (
    DOCSTRING,
    NEOVIM,
    VSCODE,
    assert_one_line_error,
    completion_params,
    inline_params,
    jsonrpc_error,
    kestrel,
    raw_notify,
    raw_request,
    the_edit,
)

INVALID_PARAMS, METHOD_NOT_FOUND = -32602, -32601
UNKNOWN_URI = "file:///work/project/never-opened.py"


def code_action(uri: str, start: tuple[int, int], end: tuple[int, int]) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri),
        range=types.Range(types.Position(*start), types.Position(*end)),
        context=types.CodeActionContext(diagnostics=[]),
    )


def forged_action(**data: Any) -> types.CodeAction:
    fields = {"uri": URI, "version": 1, "kind": DOCSTRING, "start_line": 0, "end_line": 1}
    return types.CodeAction(title="Kestrel: Add docstring", kind=DOCSTRING, data=fields | data)


Case = tuple[str, Callable[[Editor], Awaitable[Any]], int]

CASES: list[Case] = [
    (
        "codeAction, unknown document",
        lambda ed: ed.client.text_document_code_action_async(
            code_action(UNKNOWN_URI, (0, 0), (0, 0))
        ),
        INVALID_PARAMS,
    ),
    (
        "inlineCompletion, unknown document",
        lambda ed: ed.client.text_document_inline_completion_async(
            inline_params(UNKNOWN_URI, 0, 0)
        ),
        INVALID_PARAMS,
    ),
    (
        "completion, unknown document",
        lambda ed: ed.client.text_document_completion_async(completion_params(UNKNOWN_URI, 0, 0)),
        INVALID_PARAMS,
    ),
    (
        "codeAction/resolve, data Kestrel never made",
        lambda ed: ed.client.code_action_resolve_async(
            types.CodeAction(title="x", data={"some": "thing"})
        ),
        INVALID_PARAMS,
    ),
    (
        "codeAction/resolve, lines outside the document",
        lambda ed: ed.client.code_action_resolve_async(forged_action(start_line=7, end_line=9)),
        INVALID_PARAMS,
    ),
    (
        "executeCommand kestrel.applyAction, wrong arguments",
        lambda ed: ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="kestrel.applyAction", arguments=[42])
        ),
        INVALID_PARAMS,
    ),
    (
        "executeCommand kestrel.applyAction, no arguments",
        lambda ed: ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="kestrel.applyAction")
        ),
        INVALID_PARAMS,
    ),
    (
        "executeCommand, a command the server does not have",
        lambda ed: ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="kestrel.noSuchCommand", arguments=[])
        ),
        INVALID_PARAMS,
    ),
    (
        "completion, params null",
        lambda ed: raw_request(ed, types.TEXT_DOCUMENT_COMPLETION, None),
        INVALID_PARAMS,
    ),
    (
        "an unknown method",
        lambda ed: raw_request(ed, "kestrel/noSuchMethod", {"x": 1}),
        METHOD_NOT_FOUND,
    ),
    (
        "codeAction, params of the wrong types",
        lambda ed: raw_request(
            ed,
            types.TEXT_DOCUMENT_CODE_ACTION,
            {"textDocument": {"uri": 5}, "range": "all of it", "context": {}},
        ),
        INVALID_PARAMS,
    ),
    (
        "inlineCompletion, a position that is not one",
        lambda ed: raw_request(
            ed,
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            {
                "textDocument": {"uri": URI},
                "position": {"line": "first", "character": -1},
                "context": {"triggerKind": 2},
            },
        ),
        INVALID_PARAMS,
    ),
    (
        "codeAction/resolve, params that are a list",
        lambda ed: raw_request(ed, types.CODE_ACTION_RESOLVE, [1, 2, 3]),
        INVALID_PARAMS,
    ),
]


async def test_each_bad_request_gets_a_one_line_error_and_the_server_goes_on(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        for name, send, code in CASES:
            error = await jsonrpc_error(send(ed))
            assert error.code == code, f"{name}: {error.code} {error.message}"
            assert_one_line_error(error, code)
        # A notification with nonsense params has no answer, and must not break anything.
        raw_notify(ed, types.TEXT_DOCUMENT_DID_CHANGE, {"textDocument": 7})
        await ed.roundtrip()

        assert the_edit(await ed.resolve(await ed.action(DOCSTRING))).text_document.version == 1
        assert len(sim.requests) == 1
        assert ed.notices == []  # no popup for any of it


async def test_empty_binary_and_large_documents_are_answered(sim: SimulatorServer) -> None:
    empty = "file:///work/project/empty.py"
    binary = "file:///work/project/blob.py"
    large = "file:///work/project/large.py"
    large_text = "value = 1\n" * 50_000
    async with kestrel(sim, caps=NEOVIM) as ed:
        ed.open("", uri=empty)
        ed.open("x = '\x00\x01\x02\ufffd\U0001f600'\n\x7f\x1b[0m\n", uri=binary)
        ed.open(large_text, uri=large)

        for uri, line in ((empty, 0), (binary, 1), (large, 50_000)):
            actions = await ed.actions(start=(line, 0), end=(line, 0), uri=uri)
            [docstring] = [a for a in actions if a.kind == DOCSTRING]
            resolved = await ed.resolve(docstring)
            if resolved.edit is not None:
                assert the_edit(resolved).text_document.version == 1
            completion = await ed.client.text_document_completion_async(
                completion_params(uri, line, 0)
            )
            assert isinstance(completion, types.CompletionList)
        # Past the emoji (two UTF-16 units) is the end of line 0 of the binary document.
        actions = await ed.actions(start=(0, 12), end=(0, 12), uri=binary)
        assert [a.kind for a in actions] == [DOCSTRING]
        assert ed.notices == []
