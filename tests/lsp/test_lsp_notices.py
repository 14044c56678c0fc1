"""SPEC, Notices and status, and the known-good key: what the editor is told, and how many
requests the provider saw, for each case of the notice table."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import CANARY
from lsp_steps import (
    CANARY_B,
    EMACS,
    MISSING,
    NEOVIM,
    REJECTED_AFTER_RETRIES,
    REJECTED_NEVER_WORKED,
    VSCODE,
    ask_provider,
    closed_port,
    inline_params,
    kestrel,
    key_id,
    notices_starting,
    states,
)

ERROR, WARNING, INFO = (
    types.MessageType.Error,
    types.MessageType.Warning,
    types.MessageType.Info,
)
BOTH_EDITORS = pytest.mark.parametrize("caps", [VSCODE, NEOVIM])


def first_notice_index(output: list[str]) -> int:
    return next(i for i, message in enumerate(output) if "ShowMessageNotification" in message)


@BOTH_EDITORS
async def test_missing_key_notice_once_then_each_explicit_action(
    sim: SimulatorServer, caps: str
) -> None:
    async with kestrel(sim, caps=caps, key=None) as ed:
        await ed.wait_for_notice(MISSING)
        assert (await ed.wait_for_state("missingKey"))["provider"] == "deepseek"
        # Sent only after initialized: after the initialize response.
        output = ed.rec.server_output
        answered = next(i for i, m in enumerate(output) if "InitializeResponse" in m)
        assert first_notice_index(output) > answered

        uri = ed.open()
        for _ in range(2):
            assert (await ask_provider(ed)).edit is None
        # An automatic completion returns empty and raises no further notice.
        inline = await ed.client.text_document_inline_completion_async(inline_params(uri, 4, 0))
        assert inline is None or not getattr(inline, "items", inline)
        await ed.roundtrip()

        assert notices_starting(ed, MISSING) == [(ERROR, ed.notices[0].message)] * 3
        assert len(ed.notices) == 3
        assert "KESTREL_API_KEY or DEEPSEEK_API_KEY" in ed.notices[0].message
        assert states(ed) == ["missingKey"]
        assert sim.requests == []


@pytest.mark.parametrize(
    ("client_name", "says", "never_says"),
    [
        ("Visual Studio Code", ['"Kestrel: Set API Key"'], ["kestrel.apiKey", "DEEPSEEK_API_KEY"]),
        ("code-server", ['"Kestrel: Set API Key"'], ["kestrel.apiKey"]),
        ("Neovim", ["kestrel.apiKey", "KESTREL_API_KEY or DEEPSEEK_API_KEY"], ["Set API Key"]),
        ("Emacs", ["kestrel.apiKey", "KESTREL_API_KEY or DEEPSEEK_API_KEY"], ["VS Code"]),
        (None, ["kestrel.apiKey", "KESTREL_API_KEY or DEEPSEEK_API_KEY"], ["Set API Key"]),
    ],
)
async def test_the_missing_key_notice_tells_each_editor_its_own_way(
    sim: SimulatorServer, client_name: str | None, says: list[str], never_says: list[str]
) -> None:
    async with kestrel(sim, caps=NEOVIM, key=None, client_name=client_name) as ed:
        notice = await ed.wait_for_notice(MISSING)
        status = await ed.wait_for_state("missingKey")
        for text in says:
            assert text in notice.message, (text, notice.message)
        for text in never_says:
            assert text not in notice.message, (text, notice.message)
        assert status["message"] == notice.message
        assert sim.requests == []


async def test_a_failed_command_returns_null_with_its_notice(sim: SimulatorServer) -> None:
    sim.set_script("reject-all")
    async with kestrel(sim, caps=EMACS) as ed:
        ed.open()
        assert await ask_provider(ed) is None
        assert [(n.type, n.message) for n in ed.notices] == [(ERROR, REJECTED_NEVER_WORKED)]
        assert ed.rec.edits_applied == []
        assert len(sim.requests) == 1


async def test_missing_key_through_the_command_returns_null(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=EMACS, key=None) as ed:
        await ed.wait_for_notice(MISSING)
        ed.open()
        assert await ask_provider(ed) is None
        assert await ask_provider(ed) is None
        assert len(notices_starting(ed, MISSING)) == 3
        assert ed.rec.edits_applied == []
        assert sim.requests == []


@BOTH_EDITORS
async def test_rejected_key_that_never_worked_gets_one_request(
    sim: SimulatorServer, caps: str
) -> None:
    sim.set_script("reject-all")
    async with kestrel(sim, caps=caps) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is None
        assert len(sim.requests) == 1
        assert (await ask_provider(ed)).edit is None  # an explicit action: told again
        assert len(sim.requests) == 2

        assert [(n.type, n.message) for n in ed.notices] == [(ERROR, REJECTED_NEVER_WORKED)] * 2
        assert states(ed) == ["ok", "rejectedKey"]
        assert ed.rec.statuses[-1]["message"] == REJECTED_NEVER_WORKED


async def test_known_good_key_recovers_from_a_transient_401_silently(
    sim: SimulatorServer,
) -> None:
    sim.set_script({"steps": [200, 401, 401, 200]})
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is not None
        assert (await ask_provider(ed)).edit is not None
        assert [r["status"] for r in sim.requests] == [200, 401, 401, 200]
        assert ed.notices == []
        assert states(ed) == ["ok"]
        # Each auth retry goes out on a new connection, not the one that got the 401.
        ports = [r["peer_port"] for r in sim.requests]
        assert ports[2] != ports[1] and ports[3] not in (ports[1], ports[2])


async def test_known_good_key_rejected_after_retries(sim: SimulatorServer) -> None:
    sim.set_script({"steps": [200], "then": 401})
    async with kestrel(sim, caps=NEOVIM) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is not None
        assert (await ask_provider(ed)).edit is None
        assert [r["status"] for r in sim.requests] == [200, 401, 401, 401]
        assert [(n.type, n.message) for n in ed.notices] == [(ERROR, REJECTED_AFTER_RETRIES)]
        assert states(ed) == ["ok", "rejectedKey"]


async def test_a_key_change_resets_known_good(sim: SimulatorServer) -> None:
    sim.set_script({"steps": [200], "then": 401})
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is not None
        await ed.change_settings({"kestrel": {"apiKey": CANARY_B}})
        assert (await ask_provider(ed)).edit is None
        # Switching back to the earlier key starts again from never-worked.
        await ed.change_settings({"kestrel": {"apiKey": CANARY}})
        assert (await ask_provider(ed)).edit is None

        assert [(r["key_id"], r["status"]) for r in sim.requests] == [
            (key_id(CANARY), 200),
            (key_id(CANARY_B), 401),
            (key_id(CANARY), 401),
        ]
        assert [n.message for n in ed.notices] == [REJECTED_NEVER_WORKED] * 2


@pytest.mark.parametrize(
    ("script", "status"), [("quota402", 402), ("quota429", 429)], ids=["402", "429"]
)
async def test_quota_exhausted_is_not_retried(
    sim: SimulatorServer, script: str, status: int
) -> None:
    sim.set_script(script)
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is None
        start = (
            f"Kestrel: deepseek says the account's quota or balance is exhausted (HTTP {status})."
        )
        [(kind, _)] = notices_starting(ed, start)
        assert kind == ERROR and len(ed.notices) == 1
        assert len(sim.requests) == 1
        assert states(ed) == ["ok", "quotaExhausted"]


@pytest.mark.parametrize(
    ("script", "requests", "text"),
    [
        ({"then": 429}, 3, "retried 2 times."),
        ("rate-limited-long", 1, "retried 0 times. It asks to wait 120 s"),
    ],
    ids=["after-retries", "retry-after-too-long"],
)
async def test_rate_limited_is_a_warning(
    sim: SimulatorServer, script: Any, requests: int, text: str
) -> None:
    sim.set_script(script)
    async with kestrel(sim, caps=NEOVIM) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is None
        start = "Kestrel: deepseek is rate-limiting requests (HTTP 429); " + text
        assert [kind for kind, _ in notices_starting(ed, start)] == [WARNING]
        assert len(ed.notices) == 1
        assert len(sim.requests) == requests
        assert states(ed) == ["ok", "rateLimited"]


async def test_unreachable_provider(sim: SimulatorServer) -> None:
    port = closed_port()
    init = {"baseUrl": f"http://127.0.0.1:{port}", "retry": {"maxRetries": 1}}
    async with kestrel(sim, caps=VSCODE, init=init) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is None
        start = f"Kestrel: cannot reach deepseek at http://127.0.0.1:{port}: "
        [(kind, message)] = notices_starting(ed, start)
        assert kind == ERROR and message.endswith(".") and len(ed.notices) == 1
        assert states(ed) == ["ok", "unreachable"]
    assert sim.requests == []


@pytest.mark.parametrize(
    ("script", "statuses", "text"),
    [
        (
            "bad-request400",
            [400],
            "Kestrel: deepseek answered HTTP 400: Invalid request: 'messages' must not be empty",
        ),
        ("server-errors", [500, 502, 503], "Kestrel: deepseek answered HTTP 503: "),
        (
            "truncated",
            [200],
            "Kestrel: deepseek answered HTTP 200: the reply stream was interrupted",
        ),
    ],
    ids=["400-not-retried", "5xx-after-retries", "stream-cut-after-output"],
)
async def test_other_provider_errors_keep_the_state(
    sim: SimulatorServer, script: str, statuses: list[int], text: str
) -> None:
    sim.set_script(script)
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is None
        [(kind, message)] = [(n.type, n.message) for n in ed.notices]
        assert kind == ERROR and message.startswith(text)
        assert len(message) <= len(text) + 200
        assert [r["status"] for r in sim.requests] == statuses
        assert states(ed) == ["ok"]


async def test_status_follows_every_change(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=VSCODE, key=None) as ed:
        await ed.wait_for_state("missingKey")
        ed.open()
        await ed.change_settings({"kestrel": {"apiKey": CANARY}})
        await ed.wait_for_state("ok")
        sim.set_script("reject-all")
        assert (await ask_provider(ed)).edit is None
        assert [r["status"] for r in sim.requests] == [401]
        await ed.change_settings({"kestrel": {"apiKey": CANARY_B}})
        await ed.wait_for_state("ok")
        sim.set_script("ok")
        assert (await ask_provider(ed)).edit is not None
        await ed.change_settings({"kestrel": {"apiKey": None}})
        await ed.wait_for_state("missingKey")

        assert states(ed) == ["missingKey", "ok", "rejectedKey", "ok", "missingKey"]
        assert {s["provider"] for s in ed.rec.statuses} == {"deepseek"}
        await ed.roundtrip()
        expected = [MISSING, REJECTED_NEVER_WORKED, MISSING]
        assert len(ed.notices) == 3
        sent = zip(ed.notices, expected, strict=True)
        assert [n.message[: len(start)] for n, start in sent] == expected
        assert [r["status"] for r in sim.requests] == [200]  # set_script cleared the log


async def test_automatic_completions_raise_a_notice_once(sim: SimulatorServer) -> None:
    sim.set_script("reject-all")
    async with kestrel(sim, caps=VSCODE) as ed:
        uri = ed.open()
        for column in range(3):
            result = await ed.client.text_document_inline_completion_async(
                inline_params(uri, 4, column)
            )
            assert isinstance(result, types.InlineCompletionList) and not result.items
        assert [n.message for n in ed.notices] == [REJECTED_NEVER_WORKED]
        # An explicit action is always answered with its notice.
        assert (await ask_provider(ed)).edit is None
        assert [n.message for n in ed.notices] == [REJECTED_NEVER_WORKED] * 2
        # After the first rejection, completions stop sending that key; the action tries again.
        assert [r["status"] for r in sim.requests] == [401, 401]


async def test_status_names_the_provider_after_a_switch(sim: SimulatorServer) -> None:
    async with kestrel(sim, caps=VSCODE) as ed:
        await ed.wait_for_state("ok")
        await ed.change_settings({"kestrel": {"provider": "mimo"}})
        await ed.rec.wait_until(lambda: ed.rec.statuses[-1]["provider"] == "mimo")
        ed.open()
        assert (await ask_provider(ed)).edit is not None
        assert [(s["state"], s["provider"]) for s in ed.rec.statuses] == [
            ("ok", "deepseek"),
            ("ok", "mimo"),
        ]
        # MiMo's own header, with the key from initializationOptions.
        assert [(r["auth_scheme"], r["key_id"]) for r in sim.requests] == [
            ("api-key", key_id(CANARY))
        ]
        assert ed.notices == []


def key_notices_after_their_status(ed: Any) -> int:
    """Check, in the order the server wrote them, that each missing- or rejected-key notice comes
    right after a `kestrel/status` of that state carrying its text (the VS Code extension puts the
    Set API Key button on a notice by that status). Returns how many notices were checked."""
    statuses, notices = iter(ed.rec.statuses), iter(ed.rec.notices)
    latest: dict[str, Any] | None = None
    checked = 0
    for line in ed.rec.server_output:
        if "method='kestrel/status'" in line:
            latest = next(statuses)
        elif line.startswith("ShowMessageNotification("):
            notice = next(notices)
            if notice.message.startswith(MISSING) or "rejected your API key" in notice.message:
                assert latest is not None and latest["state"] in ("missingKey", "rejectedKey")
                assert latest["message"] == notice.message
                checked += 1
    return checked


async def test_the_key_states_come_before_their_notices(sim: SimulatorServer) -> None:
    # A settings error beside the missing key, both raised before `initialized`: the status still
    # comes first, and the settings error is not mistaken for the key's notice.
    init = {"completion": {"debounceMs": "soon"}}
    async with kestrel(sim, key=None, init=init) as ed:
        await ed.wait_for_notice(MISSING)
        ed.open()
        assert (await ask_provider(ed)).edit is None  # told again, the state unchanged
        await ed.roundtrip()
        assert states(ed) == ["missingKey"]
        assert len(notices_starting(ed, "Kestrel: setting kestrel.completion.debounceMs")) == 1
        assert key_notices_after_their_status(ed) == 2

    sim.set_script("reject-all")
    async with kestrel(sim) as ed:
        ed.open()
        for _ in range(2):
            assert (await ask_provider(ed)).edit is None
        assert states(ed) == ["ok", "rejectedKey"]
        assert key_notices_after_their_status(ed) == 2
