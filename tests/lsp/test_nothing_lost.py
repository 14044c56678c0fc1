"""Nothing lost (LSP level): an AI edit computed for version N is never returned once the user
typed while the provider was slow. The provider is held (not timed): the test types only after
the simulator has the request, and releases it only after the server has the new text.

(The Neovim version of this, with a real buffer, lives with the editor tests.)
"""

from __future__ import annotations

import asyncio

from lsprotocol import types

from lsp_harness import SAMPLE, URI, editor
from lsp_steps import (
    DOCSTRING,
    EMACS,
    VSCODE,
    GatedSimulator,
    assert_no_secret,
    deepseek_at,
    the_edit,
)

CHANGED = "Kestrel: app.py changed while the AI was working"


async def test_typing_during_a_slow_resolve_returns_no_edit_even_if_the_text_comes_back(
    gated: GatedSimulator,
) -> None:
    async with editor(caps=VSCODE, init=deepseek_at(gated.url)) as ed:
        ed.open()
        action = await ed.action(DOCSTRING)
        gated.hold()
        resolving = asyncio.ensure_future(ed.resolve(action))
        await gated.wait_for_requests(1)
        for i, char in enumerate("abc"):  # a burst of keystrokes, then undone
            ed.type_text(0, i, char)
        ed.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=5),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=SAMPLE)],
            )
        )
        ed.versions[URI] = 5
        await ed.roundtrip()  # the server has version 5 (same text as 1) before the reply
        gated.release()
        resolved = await asyncio.wait_for(resolving, 60)

        assert resolved.edit is None  # the version moved: nothing applied, whatever the text
        assert [(n.type, n.message[: len(CHANGED)]) for n in ed.notices] == [
            (types.MessageType.Info, CHANGED)
        ]
        assert len(gated.requests) == 1
        # The server kept the user's version: a new action is for version 5, and it works.
        fresh = await ed.action(DOCSTRING)
        assert the_edit(await ed.resolve(fresh)).text_document.version == 5
    assert_no_secret(ed)


async def test_typing_during_a_slow_command_applies_nothing(gated: GatedSimulator) -> None:
    async with editor(caps=EMACS, init=deepseek_at(gated.url)) as ed:
        ed.open()
        command = (await ed.action(DOCSTRING)).command
        assert command is not None
        gated.hold()
        running = asyncio.ensure_future(
            ed.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
            )
        )
        await gated.wait_for_requests(1)
        ed.type_text(1, 4, "# the user's comment\n    ")
        await ed.roundtrip()
        gated.release()

        assert await asyncio.wait_for(running, 60) is None
        assert ed.rec.edits_applied == []  # no workspace/applyEdit was ever sent
        assert [n.message[: len(CHANGED)] for n in ed.notices] == [CHANGED]
        assert len(gated.requests) == 1
    assert_no_secret(ed)
