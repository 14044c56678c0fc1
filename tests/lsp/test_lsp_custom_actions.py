"""Your own AI actions (setting `actions`), through the real server: offered beside the built-in
ones as `Kestrel: <title>` (kind `refactor.rewrite.kestrel.custom`), lazily, under the built-in
actions' rules; a wrong entry is one settings error naming its path and the others stay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import URI
from lsp_steps import (
    APPLY_COMMAND,
    EMACS,
    NEOVIM,
    VSCODE,
    PromptRecorder,
    kestrel,
    the_edit,
)

CUSTOM = "refactor.rewrite.kestrel.custom"
TYPE_HINTS = {"title": "Add type hints", "instruction": "Add type hints to every parameter."}
TESTS = {
    "title": "Write a test",
    "instruction": "Write a pytest test for this code.",
    "when": "selection",
}
EXPLAIN = {
    "title": "Explain the problem",
    "instruction": "Explain the diagnostics in a comment above the code.",
    "when": "diagnostics",
}
ALL_THREE = {"actions": [TYPE_HINTS, TESTS, EXPLAIN]}
DIAGNOSTIC = types.Diagnostic(
    range=types.Range(types.Position(1, 4), types.Position(1, 10)), message="undefined name"
)


@pytest.fixture
async def recorder() -> Any:
    async with PromptRecorder() as server:
        yield server


def custom_titles(actions: Sequence[types.Command | types.CodeAction]) -> list[str]:
    assert all(isinstance(a, types.CodeAction) for a in actions), actions
    return [a.title for a in actions if isinstance(a, types.CodeAction) and a.kind == CUSTOM]


async def test_own_actions_are_listed_by_when_without_asking_the_provider(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=VSCODE, init=ALL_THREE) as ed:
        ed.open()
        cursor = await ed.actions(start=(1, 4), end=(1, 4))
        assert custom_titles(cursor) == ["Kestrel: Add type hints"]
        selected = await ed.actions(start=(0, 0), end=(2, 0))
        assert custom_titles(selected) == ["Kestrel: Add type hints", "Kestrel: Write a test"]
        with_problem = await ed.actions(start=(1, 4), end=(1, 4), diagnostics=[DIAGNOSTIC])
        assert custom_titles(with_problem) == [
            "Kestrel: Add type hints",
            "Kestrel: Explain the problem",
        ]
        # The built-in actions are still there, listed first.
        assert [a.kind for a in with_problem][:2] == [
            "quickfix.kestrel",
            "refactor.rewrite.kestrel.docstring",
        ]
        # A client asking only for quick fixes does not get them; one asking for rewrites does.
        quickfixes = await ed.client.text_document_code_action_async(
            only(["quickfix"], diagnostics=[DIAGNOSTIC])
        )
        assert custom_titles(list(quickfixes or [])) == []
        rewrites = await ed.client.text_document_code_action_async(only(["refactor.rewrite"]))
        assert custom_titles(list(rewrites or [])) == ["Kestrel: Add type hints"]
        assert sim.requests == []
        assert ed.notices == []


def only(kinds: list[str], diagnostics: list[types.Diagnostic] | None = None) -> Any:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(URI),
        range=types.Range(types.Position(1, 4), types.Position(1, 4)),
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=kinds),
    )


async def test_resolving_one_sends_its_instruction_and_edits_the_target(
    recorder: PromptRecorder,
) -> None:
    async with kestrel(recorder, caps=VSCODE, init=ALL_THREE) as ed:
        ed.open()
        [hints] = [a for a in await ed.actions((1, 4), (1, 4)) if a.kind == CUSTOM]
        assert recorder.requests == []
        edit = the_edit(await ed.resolve(hints))
        assert edit.text_document.version == 1
        prompt = recorder.chat_user_prompt()
        assert "Task: Add type hints to every parameter." in prompt
        # No selection: the enclosing definition is the target, as for a docstring.
        assert "def add(a, b):\n    return a + b" in prompt
        [text_edit] = edit.edits
        assert text_edit.range == types.Range(types.Position(0, 0), types.Position(2, 0))

        [explain] = [
            a
            for a in await ed.actions((1, 4), (1, 4), diagnostics=[DIAGNOSTIC])
            if a.title == "Kestrel: Explain the problem"
        ]
        assert the_edit(await ed.resolve(explain)).text_document.version == 1
        prompt = recorder.chat_user_prompt()
        assert "Task: Explain the diagnostics in a comment above the code." in prompt
        assert "- undefined name" in prompt


async def test_clients_without_resolve_run_it_as_the_command(recorder: PromptRecorder) -> None:
    async with kestrel(recorder, caps=EMACS, init=ALL_THREE) as ed:
        ed.open()
        [hints] = [a for a in await ed.actions((1, 4), (1, 4)) if a.kind == CUSTOM]
        assert hints.command is not None and hints.command.command == APPLY_COMMAND
        assert hints.command.title == "Kestrel: Add type hints"
        result = await ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=APPLY_COMMAND, arguments=hints.command.arguments)
        )
        assert result == {"applied": True}
        [applied] = ed.rec.edits_applied
        assert the_edit(applied).text_document.version == 1
        assert "Task: Add type hints to every parameter." in recorder.chat_user_prompt()


async def test_a_stale_custom_action_applies_nothing(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=NEOVIM, init=ALL_THREE) as ed:
        ed.open()
        [hints] = [a for a in await ed.actions((1, 4), (1, 4)) if a.kind == CUSTOM]
        ed.type_text(4, 0, "# typed meanwhile\n")
        resolved = await ed.resolve(hints)
        assert resolved.edit is None
        notice = await ed.wait_for_notice("Kestrel: app.py changed while the AI was working")
        assert notice.type == types.MessageType.Info
        assert sim.requests == []  # refused before asking: the version had already moved


async def test_a_wrong_entry_is_one_named_error_and_the_others_stay(sim: SimulatorServer) -> None:
    wrong = {"title": "Broken", "instruction": 5}
    settings = {"actions": [TYPE_HINTS, wrong, {**TESTS, "when": "always"}]}
    async with kestrel(sim, caps=VSCODE, init=settings) as ed:
        ed.open()
        titles = custom_titles(await ed.actions((1, 4), (1, 4)))
        assert titles == ["Kestrel: Add type hints", "Kestrel: Write a test"]
        errors = [n for n in ed.notices if n.type == types.MessageType.Error]
        assert [n.message for n in errors] == [
            "Kestrel: setting kestrel.actions[1].instruction is invalid: expected a string, got "
            "an integer. That action is left out; the others stay."
        ]
        # The same wrong entry sent again is not reported again; a new problem is.
        await ed.change_settings({"kestrel": {"actions": [TYPE_HINTS, wrong]}})
        await ed.change_settings({"kestrel": {"actions": [{"title": "T", "when": "sometimes"}]}})
        await ed.roundtrip()
        assert custom_titles(await ed.actions((1, 4), (1, 4))) == []
        messages = [n.message for n in ed.notices if n.type == types.MessageType.Error]
        assert messages[1:] == [
            "Kestrel: setting kestrel.actions[0].instruction is invalid: missing (each action "
            "needs a title and an instruction). That action is left out; the others stay."
        ]


async def test_an_action_added_by_did_change_configuration_appears_at_once(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        assert custom_titles(await ed.actions((1, 4), (1, 4))) == []
        await ed.change_settings({"kestrel": {"actions": [TYPE_HINTS]}})
        assert custom_titles(await ed.actions((1, 4), (1, 4))) == ["Kestrel: Add type hints"]
        await ed.change_settings({"kestrel": {"actions": None}})  # null: back to none
        assert custom_titles(await ed.actions((1, 4), (1, 4))) == []
        assert ed.notices == []
