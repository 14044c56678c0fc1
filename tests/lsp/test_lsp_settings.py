"""SPEC, Settings: the layers, null, re-pulling, wrong types and where the key comes from —
seen from the editor's side, by the model and key the simulator receives."""

from __future__ import annotations

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import CANARY, editor
from lsp_steps import (
    CANARY_B,
    CANARY_ENV,
    EMACS,
    MISSING,
    NEOVIM,
    NO_BACKOFF,
    VSCODE,
    ask_provider,
    assert_no_secret,
    inline_params,
    kestrel,
    key_id,
    notices_starting,
    settled,
)


async def test_layers_last_wins_and_null_falls_back_to_the_environment(
    sim: SimulatorServer,
) -> None:
    env = {"KESTREL_PROVIDER": "deepseek", "KESTREL_BASE_URL": sim.url, "KESTREL_MODEL": "env-m"}
    # No baseUrl here: the requests reach the simulator through KESTREL_BASE_URL.
    init = {"apiKey": CANARY, "model": "init-m", "retry": NO_BACKOFF}
    async with editor(caps=VSCODE, init=init, env=env, configuration={"model": "conf-m"}) as ed:
        await settled(ed)
        ed.open()
        assert (await ask_provider(ed)).edit is not None
        await ed.change_settings({"kestrel": {"model": "change-m"}})
        assert (await ask_provider(ed)).edit is not None
        await ed.change_settings({"kestrel": {"model": None}})  # clears every client layer's
        assert (await ask_provider(ed)).edit is not None

        assert [r["model"] for r in sim.requests] == ["conf-m", "change-m", "env-m"]
        # VS Code's workspace/configuration never carries apiKey: the init key survives it.
        assert {r["key_id"] for r in sim.requests} == {key_id(CANARY)}
        assert ed.notices == []
    assert_no_secret(ed)


async def test_a_client_without_workspace_configuration_uses_init_and_did_change(
    sim: SimulatorServer,
) -> None:
    # Neovim 0.7 declares no workspace.configuration; its init options come wrapped.
    init = {"kestrel": {"baseUrl": sim.url, "apiKey": CANARY, "model": "init-m"}}
    async with editor(caps=NEOVIM, init=init, configuration={"model": "never-asked"}) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is not None
        await ed.change_settings({"kestrel": {"model": "change-m"}})
        assert (await ask_provider(ed)).edit is not None
        await ed.roundtrip()
        assert ed.rec.configuration_requests == 0
        assert [r["model"] for r in sim.requests] == ["init-m", "change-m"]
        assert ed.notices == []
    assert_no_secret(ed)


async def test_settings_null_pulls_the_configuration_again(sim: SimulatorServer) -> None:
    # eglot (the emacs capability set) sends `settings: null` after a change.
    async with kestrel(sim, caps=EMACS, configuration={"model": "conf-a"}) as ed:
        await settled(ed)
        ed.open()
        assert await ask_provider(ed) == {"applied": True}
        ed.client.set_configuration({"model": "conf-b"}, section="kestrel")
        await ed.change_settings(None)
        await settled(ed, pulls=2)
        assert await ask_provider(ed) == {"applied": True}

        assert [r["model"] for r in sim.requests] == ["conf-a", "conf-b"]
        assert {r["key_id"] for r in sim.requests} == {key_id(CANARY)}  # not wiped
        assert ed.notices == []


async def test_wrong_types_are_one_error_each_and_keep_the_earlier_value(
    sim: SimulatorServer,
) -> None:
    sim.set_script({"reply": "sim_completion()"})
    async with kestrel(sim, caps=VSCODE, init={"model": "init-m"}) as ed:
        uri = ed.open()
        await ed.change_settings({"kestrel": {"completion": {"debounceMs": 1.9}}})
        debounce = await ed.wait_for_notice("Kestrel: setting kestrel.completion.debounceMs ")
        assert debounce.type == types.MessageType.Error
        await ed.change_settings({"kestrel": {"model": 5}})
        await ed.wait_for_notice("Kestrel: setting kestrel.model ")
        await ed.change_settings({"kestrel": {"completion": {"enabled": "false"}}})
        await ed.wait_for_notice("Kestrel: setting kestrel.completion.enabled ")
        await ed.change_settings({"kestrel": {"unknownKey": {"x": 1}}})  # ignored

        # Each earlier value is kept: the model, and completions still on.
        assert (await ask_provider(ed)).edit is not None
        inline = await ed.client.text_document_inline_completion_async(inline_params(uri, 4, 0))
        assert inline is not None and isinstance(inline, types.InlineCompletionList)
        assert [item.insert_text for item in inline.items] == ["sim_completion()"]
        await ed.roundtrip()

        assert [(n.type, n.message.split(" is invalid")[0]) for n in ed.notices] == [
            (types.MessageType.Error, "Kestrel: setting kestrel.completion.debounceMs"),
            (types.MessageType.Error, "Kestrel: setting kestrel.model"),
            (types.MessageType.Error, "Kestrel: setting kestrel.completion.enabled"),
        ]
        assert [(r["path"], r["model"]) for r in sim.requests] == [
            ("/chat/completions", "init-m"),
            ("/beta/completions", "init-m"),
        ]


@pytest.mark.parametrize(
    ("variables", "sent"),
    [
        ({"KESTREL_API_KEY": CANARY_ENV}, CANARY_ENV),
        ({"DEEPSEEK_API_KEY": CANARY_ENV}, CANARY_ENV),
        ({"KESTREL_API_KEY": CANARY_ENV, "DEEPSEEK_API_KEY": CANARY_B}, CANARY_ENV),
        ({"OPENAI_API_KEY": CANARY_B}, None),  # another provider's variable is not used
    ],
    ids=["kestrel-variable", "provider-variable", "kestrel-variable-first", "other-provider"],
)
async def test_key_fallback_to_the_environment(
    sim: SimulatorServer, variables: dict[str, str], sent: str | None
) -> None:
    async with kestrel(sim, caps=NEOVIM, key=None, env=variables) as ed:
        ed.open()
        resolved = await ask_provider(ed)
        if sent is None:
            assert resolved.edit is None
            assert len(notices_starting(ed, MISSING)) == 2  # after initialized, and the action
            assert sim.requests == []
        else:
            assert resolved.edit is not None
            assert [r["key_id"] for r in sim.requests] == [key_id(sent)]
            assert ed.notices == []


async def test_null_api_key_falls_back_to_the_environment(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=VSCODE, env={"KESTREL_API_KEY": CANARY_ENV}) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is not None
        await ed.change_settings({"kestrel": {"apiKey": None}})
        assert (await ask_provider(ed)).edit is not None
        assert [r["key_id"] for r in sim.requests] == [key_id(CANARY), key_id(CANARY_ENV)]
        assert ed.notices == []


async def test_a_wrong_type_in_init_options_is_told_after_initialized(
    sim: SimulatorServer,
) -> None:
    async with kestrel(sim, caps=NEOVIM, init={"retry": {"maxRetries": "2"}}) as ed:
        notice = await ed.wait_for_notice("Kestrel: setting kestrel.retry.maxRetries ")
        assert notice.type == types.MessageType.Error
        output = ed.rec.server_output
        answered = next(i for i, m in enumerate(output) if "InitializeResponse" in m)
        shown = next(i for i, m in enumerate(output) if "ShowMessageNotification" in m)
        assert shown > answered
        ed.open()
        assert (await ask_provider(ed)).edit is not None  # the default (2) applies
        assert len(ed.notices) == 1
        assert len(sim.requests) == 1


async def test_a_base_url_that_is_not_a_url_is_refused(sim: SimulatorServer) -> None:
    bad_urls = ["http://[::1", "http://127.0.0.1:99999", "https://", "ftp://example.com"]
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        for url in bad_urls:
            await ed.change_settings({"kestrel": {"baseUrl": url}})
            assert (await ask_provider(ed)).edit is not None  # the earlier URL is kept
        assert [(n.type, n.message.split(" is invalid")[0]) for n in ed.notices] == [
            (types.MessageType.Error, "Kestrel: setting kestrel.baseUrl")
        ] * len(bad_urls)
        assert len(sim.requests) == len(bad_urls)
