"""First end-to-end checks: the server as a subprocess, the simulator over real HTTP."""

from __future__ import annotations

from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import CANARY, SAMPLE, URI, editor

DOCSTRING = "refactor.rewrite.kestrel.docstring"


def deepseek_at(sim: SimulatorServer, key: str | None = CANARY) -> dict:
    init = {"provider": "deepseek", "baseUrl": sim.url}
    if key:
        init["apiKey"] = key
    return init


async def test_docstring_action_resolves_to_a_versioned_edit(sim: SimulatorServer) -> None:
    async with editor(init=deepseek_at(sim)) as ed:
        ed.open()
        action = await ed.action(DOCSTRING)
        assert action.title.startswith("Kestrel: ") and action.edit is None
        assert sim.requests == []  # listing never calls the provider
        resolved = await ed.resolve(action)
        assert resolved.edit is not None and resolved.edit.document_changes
        change = resolved.edit.document_changes[0]
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.version == 1
        edit = change.edits[0]
        assert isinstance(edit, types.TextEdit)
        assert edit.new_text.startswith('def add(a, b):\n    """')
        assert len(sim.requests) == 1
        assert ed.rec.statuses[-1]["state"] == "ok"
    assert CANARY not in "".join(ed.rec.server_output) + ed.rec.stderr.decode()


async def test_missing_key_notice_once_and_no_request(sim: SimulatorServer) -> None:
    async with editor(init=deepseek_at(sim, key=None)) as ed:
        notice = await ed.wait_for_notice("Kestrel: API key is missing or unset for deepseek.")
        assert notice.type == types.MessageType.Error
        status = await ed.wait_for_state("missingKey")
        assert status["provider"] == "deepseek"
        ed.open(SAMPLE)
        resolved = await ed.resolve(await ed.action(DOCSTRING))
        assert resolved.edit is None
        missing = [n for n in ed.notices if n.message.startswith("Kestrel: API key is missing")]
        assert len(missing) == 2  # once after initialized, once for the explicit action
        assert sim.requests == []


async def test_a_rejected_key_is_not_hammered_by_completions(sim: SimulatorServer) -> None:
    sim.set_script("reject-all")
    init = {**deepseek_at(sim), "completion": {"debounceMs": 0}}
    async with editor(init=init) as ed:
        ed.open()
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(URI),
            position=types.Position(1, 4),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
        for _ in range(3):
            result = await ed.client.text_document_inline_completion_async(params)
            assert isinstance(result, types.InlineCompletionList) and not result.items
        assert len(sim.requests) == 1
        rejected = [n for n in ed.notices if "rejected your API key" in n.message]
        assert len(rejected) == 1
        # an explicit action still gets its one request and its notice
        await ed.resolve(await ed.action(DOCSTRING))
        assert len(sim.requests) == 2
        assert len([n for n in ed.notices if "rejected your API key" in n.message]) == 2
