"""SPEC, Code actions: listed without the provider, computed on resolve (or by command), a
versioned edit of fence-free, re-indented text, nothing applied to text that changed meanwhile,
and a cancellable long action."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import SAMPLE, URI
from lsp_steps import (
    DOCSTRING,
    EMACS,
    NEOVIM,
    QUICKFIX,
    SELECTION,
    VSCODE,
    GatedSimulator,
    apply_text_edits,
    ask_provider,
    assert_docstring_added,
    assert_one_line_error,
    cancel,
    jsonrpc_error,
    kestrel,
    states,
    the_edit,
    typed_request,
)

BOTH_EDITORS = pytest.mark.parametrize("caps", [VSCODE, NEOVIM])
CHANGED = "Kestrel: app.py changed while the AI was working"


def listing(
    only: list[str] | None = None,
    diagnostics: list[types.Diagnostic] | None = None,
    end: tuple[int, int] = (0, 0),
) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(URI),
        range=types.Range(types.Position(0, 0), types.Position(*end)),
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
    )


def undefined_name() -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(types.Position(1, 11), types.Position(1, 12)),
        message="undefined name 'c'",
        severity=types.DiagnosticSeverity.Error,
    )


@BOTH_EDITORS
async def test_docstring_action_edits_the_version_it_was_listed_for(
    sim: SimulatorServer, caps: str
) -> None:
    async with kestrel(sim, caps=caps) as ed:
        ed.open()
        action = await ed.action(DOCSTRING)
        assert action.title.startswith("Kestrel: ") and action.edit is None
        assert sim.requests == []  # listing never calls the provider
        resolved = await ed.resolve(action)

        change = the_edit(resolved)
        assert change.text_document.uri == URI and change.text_document.version == 1
        assert_docstring_added(SAMPLE, apply_text_edits(SAMPLE, list(change.edits)))
        assert len(sim.requests) == 1
        assert ed.notices == []
        assert states(ed) == ["ok"]
        # Work-done progress, cancellable, begun and ended (both capability sets have it).
        [reports] = ed.client.progress_reports.values()
        assert [type(r) for r in reports] == [
            types.WorkDoneProgressBegin,
            types.WorkDoneProgressEnd,
        ]
        begin = reports[0]
        assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable is True


async def test_reply_fences_are_stripped_and_a_nested_method_reindented(
    sim: SimulatorServer,
) -> None:
    text = (
        "class Rect:\n"
        "    def __init__(self, w, h):\n"
        "        self.w = w\n"
        "        self.h = h\n"
        "\n"
        "    def area(self):\n"
        "        return self.w * self.h\n"
        "\n"
        "\n"
        "print(Rect(2, 3).area())\n"
    )
    reply = (
        "Here is the method with a docstring:\n\n"
        "```python\n"
        "def area(self):\n"
        '    """The rectangle\'s area."""\n'
        "    return self.w * self.h\n"
        "```\n\n"
        "It documents the return value."
    )
    sim.set_script({"reply": reply})
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open(text)
        resolved = await ed.resolve(await ed.action(DOCSTRING, start=(6, 8), end=(6, 8)))
        change = the_edit(resolved)
        assert apply_text_edits(text, list(change.edits)) == text.replace(
            "    def area(self):\n",
            '    def area(self):\n        """The rectangle\'s area."""\n',
        )
        assert len(sim.requests) == 1


async def test_listing_offers_quickfix_only_with_diagnostics_and_honours_only(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()

        async def kinds(params: types.CodeActionParams) -> list[str]:
            result = await ed.client.text_document_code_action_async(params)
            actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
            assert len(actions) == len(result or [])
            assert all(a.title.startswith("Kestrel: ") and a.edit is None for a in actions)
            return [str(a.kind) for a in actions]

        diagnostic = [undefined_name()]
        selected = (2, 0)
        assert await kinds(listing()) == [DOCSTRING]
        assert await kinds(listing(end=selected)) == [DOCSTRING, SELECTION]
        assert await kinds(listing(diagnostics=diagnostic)) == [QUICKFIX, DOCSTRING]
        assert await kinds(listing(["quickfix"], diagnostic, selected)) == [QUICKFIX]
        assert await kinds(listing(["quickfix"], None, selected)) == []
        assert await kinds(listing(["refactor.rewrite"], diagnostic, selected)) == [
            DOCSTRING,
            SELECTION,
        ]
        assert await kinds(listing([SELECTION], diagnostic, selected)) == [SELECTION]
        assert await kinds(listing(["refactor.extract", "source"], diagnostic, selected)) == []
        assert sim.requests == []

        listed = await ed.client.text_document_code_action_async(listing(None, diagnostic))
        assert listed
        quickfix = listed[0]
        assert isinstance(quickfix, types.CodeAction) and quickfix.is_preferred
        assert list(quickfix.diagnostics or []) == diagnostic
        assert the_edit(await ed.resolve(quickfix)).text_document.version == 1
        assert len(sim.requests) == 1


@BOTH_EDITORS
async def test_no_edit_when_the_file_changed_between_listing_and_resolve(
    sim: SimulatorServer, caps: str
) -> None:
    async with kestrel(sim, caps=caps) as ed:
        ed.open()
        action = await ed.action(DOCSTRING)
        ed.type_text(4, 0, "x = 1\n")
        resolved = await ed.resolve(action)
        assert resolved.edit is None
        assert [(n.type, n.message[: len(CHANGED)]) for n in ed.notices] == [
            (types.MessageType.Info, CHANGED)
        ]
        assert sim.requests == []


async def test_no_edit_when_the_file_changed_while_the_provider_worked(
    gated: GatedSimulator,
) -> None:
    async with kestrel(gated, caps=VSCODE) as ed:
        ed.open()
        action = await ed.action(DOCSTRING)
        gated.hold()
        resolving = asyncio.ensure_future(ed.resolve(action))
        await gated.wait_for_requests(1)
        ed.type_text(1, 4, "# the user's comment\n    ")
        await ed.roundtrip()  # the server has the new version before the reply comes
        gated.release()
        resolved = await resolving

        assert resolved.edit is None
        assert [(n.type, n.message[: len(CHANGED)]) for n in ed.notices] == [
            (types.MessageType.Info, CHANGED)
        ]
        assert len(gated.requests) == 1


async def test_without_resolve_support_the_command_applies_the_edit(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=EMACS) as ed:
        ed.open()
        action = await ed.action(DOCSTRING)
        assert action.edit is None and action.command is not None
        assert action.command.command == "kestrel.applyAction"
        assert sim.requests == []
        assert await ask_provider(ed) == {"applied": True}

        [applied] = ed.rec.edits_applied
        change = the_edit(applied)
        assert change.text_document.version == 1
        assert_docstring_added(SAMPLE, apply_text_edits(SAMPLE, list(change.edits)))
        assert len(sim.requests) == 1
        assert ed.notices == []


async def test_the_command_reports_an_edit_the_client_refused(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=EMACS, apply_edits=False) as ed:
        ed.open()
        assert await ask_provider(ed) == {"applied": False}
        assert len(ed.rec.edits_applied) == 1
        assert len(sim.requests) == 1
        assert ed.notices == []


async def test_the_command_applies_nothing_to_a_changed_file(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=EMACS) as ed:
        ed.open()
        command = (await ed.action(DOCSTRING)).command
        assert command is not None
        ed.type_text(0, 0, "import math\n")
        result = await ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
        )
        assert result is None
        assert ed.rec.edits_applied == []
        assert [n.message[: len(CHANGED)] for n in ed.notices] == [CHANGED]
        assert sim.requests == []


@pytest.mark.parametrize("how", ["cancelRequest", "progressCancel"])
async def test_a_long_action_is_cancelled_by_the_client(gated: GatedSimulator, how: str) -> None:
    async with kestrel(gated, caps=VSCODE) as ed:
        ed.open()
        action = await ed.action(DOCSTRING)
        gated.hold()
        resolving = typed_request(ed, types.CODE_ACTION_RESOLVE, action, "resolve-1")
        await gated.wait_for_requests(1)
        if how == "cancelRequest":
            cancel(ed, "resolve-1")
        else:
            # The provider request does not wait for the progress token: wait for `begin`
            # (the token is known to the client at `create`, to the server only after it).
            async def progress_begun() -> None:
                while not any(ed.client.progress_reports.values()):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(progress_begun(), 10)
            [token] = ed.client.progress_reports
            ed.client.window_work_done_progress_cancel(
                types.WorkDoneProgressCancelParams(token=token)
            )
        error = await asyncio.wait_for(jsonrpc_error(resolving), 30)  # the answer is held
        assert_one_line_error(error, -32800)
        gated.release()

        # Nothing to tell: the user cancelled. The server goes on answering.
        assert ed.notices == []
        assert the_edit(await ed.resolve(await ed.action(DOCSTRING))).text_document.version == 1
        assert len(gated.requests) == 2


async def test_a_crlf_document_gets_crlf_lines_only(sim: SimulatorServer) -> None:
    # The prompt carries the document's own line endings; the model may echo them.
    text = SAMPLE.replace("\n", "\r\n")
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open(text)
        change = the_edit(await ed.resolve(await ed.action(DOCSTRING)))
        [edit] = change.edits
        assert isinstance(edit, types.TextEdit)
        assert "\n" not in edit.new_text.replace("\r\n", ""), "a bare LF in a CRLF document"
        assert_docstring_added(SAMPLE, apply_text_edits(SAMPLE, [edit]).replace("\r\n", "\n"))
        assert len(sim.requests) == 1
