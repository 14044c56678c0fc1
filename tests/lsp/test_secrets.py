"""Secrets (SPEC): the canary key never appears in any byte the server writes — stdout frames,
stderr, its logs — not even with verbose logging on (`KESTREL_LOG_LEVEL=DEBUG`, which keeps
pygls's own logger at WARNING), nor in an exception's text, traceback or repr.
"""

from __future__ import annotations

import asyncio
import re
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.errors import ProviderError
from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.pool import TransportFactory
from kestrel_lsp.provider.wire import ChatPrompt
from kestrel_lsp.provider.wire_anthropic import messages_request
from kestrel_lsp.provider.wire_openai import chat_request, fim_request
from kestrel_lsp.secrets import SECRETS as REGISTRY
from kestrel_lsp.secrets import log_level
from kestrel_lsp.session import Identity, Session
from kestrel_lsp.settings import ResolvedKey, Settings
from kestrel_lsp.simulator import SimulatorProcess
from kestrel_lsp.simulator.server import SimulatorServer
from lsp_wire import VSCODE_LIKE, RawServer, initialize

from lsp_harness import CANARY

SECOND_CANARY = "sk-kestrel-second-canary-91c07e5d3b"
SECRETS = (CANARY, SECOND_CANARY)
URI = "file:///work/project/app.py"
TEXT = "def add(a, b):\n    return a + b\n"


def leaks(text: str | bytes) -> list[str]:
    """The canaries, or any 8-character piece of their random tails, found in `text`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found = []
    for secret in SECRETS:
        tail = secret.rsplit("-", 1)[-1]
        pieces = {tail[i : i + 8] for i in range(len(tail) - 7)}
        found += [p for p in pieces | {secret} if p in text]
    return found


def masked(secret: str) -> str:
    return secret[:6] + "****" + secret[-4:]


def resolve(server: RawServer, kind: str = "refactor.rewrite.kestrel.docstring") -> Any:
    actions = server.request_wait(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": URI},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
            "context": {"diagnostics": []},
        },
    )
    action = next(a for a in actions["result"] if a["kind"] == kind)
    return server.request_wait("codeAction/resolve", action, timeout=60)


def configure(server: RawServer, kestrel: Any) -> None:
    server.notify("workspace/didChangeConfiguration", {"settings": {"kestrel": kestrel}})
    server.request_wait("kestrel/settled", {})  # answered after the change: the server is ordered


@pytest.fixture(scope="module")
def verbose_session() -> Iterator[RawServer]:
    """One server at DEBUG, taken through every path that handles the key."""
    with SimulatorProcess("ok") as sim, RawServer(env={"KESTREL_LOG_LEVEL": "DEBUG"}) as srv:
        init = {
            "provider": "deepseek",
            "baseUrl": sim.url,
            "apiKey": CANARY,
            "retry": {"initialDelayMs": 1, "maxDelayMs": 2},
            "completion": {"debounceMs": "fast"},  # a wrong type beside the key: one notice
        }
        initialize(srv, init=init, capabilities=VSCODE_LIKE)
        srv.notify("$/setTrace", {"value": "verbose"})
        srv.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": TEXT}},
        )
        assert "edit" in resolve(srv)["result"]  # the key works: known-good

        # A provider that quotes the key, whole and masked, in its error message.
        sim.set_script(
            {"steps": [{"status": 400, "message": f"bad key {CANARY} ({masked(CANARY)})"}]}
        )
        assert "edit" not in resolve(srv)["result"]
        sim.set_script("reject-all")  # known-good: retried, then rejected
        assert "edit" not in resolve(srv)["result"]
        # Requests that carry the key where it does not belong.
        srv.request_wait(CANARY, {})  # as a method name
        srv.request_wait("textDocument/codeAction", {"textDocument": CANARY})
        position = {"line": CANARY, "character": 0}  # cattrs quotes a bad value in its error
        srv.request_wait(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": URI},
                "range": {"start": position, "end": position},
                "context": {"diagnostics": []},
            },
        )
        srv.send_body(b'{"jsonrpc": "2.0", "id": 77, "method": "' + CANARY.encode())
        configure(srv, {"apiKey": [CANARY]})  # a wrong type, holding the key
        configure(srv, {"apiKey": SECOND_CANARY})  # a new key: never worked
        assert "edit" not in resolve(srv)["result"]
        configure(srv, {"apiKey": None})  # cleared: the missing-key notice
        configure(srv, {"apiKey": CANARY})
        sim.set_script("ok")
        srv.request_wait("workspace/executeCommand", {"command": "kestrel.checkSetup"}, 60)
        srv.request_wait(
            "textDocument/completion",
            {
                "textDocument": {"uri": URI},
                "position": {"line": 1, "character": 4},
            },
            60,
        )
        assert srv.shutdown() == 0
        yield srv


def test_no_byte_on_stdout_carries_the_key(verbose_session: RawServer) -> None:
    assert verbose_session.received.frame_errors == []
    assert leaks(bytes(verbose_session.received.stdout)) == []
    errors = [m["error"]["message"] for m in verbose_session.received.messages if "error" in m]
    assert "Method Not Found: [redacted]" in errors  # the key as a method name, redacted


def test_no_byte_on_stderr_carries_the_key_even_at_debug(verbose_session: RawServer) -> None:
    stderr = bytes(verbose_session.received.stderr).decode("utf-8", "replace")
    assert re.search(r" DEBUG kestrel_lsp", stderr), "verbose logging was not on"
    assert leaks(stderr) == []
    # pygls logs params (initializationOptions with the key) at INFO and DEBUG: kept quiet.
    assert not re.search(r" (INFO|DEBUG) pygls", stderr)


def test_the_notices_quote_the_provider_without_the_key(verbose_session: RawServer) -> None:
    notices = [n["message"] for n in verbose_session.notifications("window/showMessage")]
    quoted = [n for n in notices if n.startswith("Kestrel: deepseek answered HTTP 400: bad key")]
    assert quoted and all("[redacted]" in n for n in quoted), notices
    assert any("kestrel.apiKey" in n for n in notices), notices  # the wrong-typed key, named
    assert any(n.startswith("Kestrel: API key is missing or unset") for n in notices)
    assert leaks("\n".join(notices)) == []


def test_the_log_level_switch() -> None:
    assert log_level({}) == 30
    assert log_level({"KESTREL_LOG_LEVEL": "debug"}) == 10
    assert log_level({"KESTREL_LOG_LEVEL": "INFO"}) == 20
    assert log_level({"KESTREL_LOG_LEVEL": "15"}) == 15
    assert log_level({"KESTREL_LOG_LEVEL": "chatty"}) == 30


# -- exception texts, tracebacks and reprs --------------------------------------------------------

FAULTS: list[Any] = [
    "reject-all",
    {"steps": [{"status": 400, "message": f"key {CANARY} / {masked(CANARY)}"}]},
    {"then": {"status": 500, "message": f"upstream said {CANARY}"}},
    {"then": {"status": 502, "fault": "html"}},
    {"then": {"fault": "reset"}},
    {"then": {"fault": "stall", "delay_ms": 10_000}},
    {"then": {"fault": "truncate"}},
    {"then": {"fault": "garbage"}},
    {"then": {"fault": "redirect", "location": "http://127.0.0.1:9/steal?k=1"}},
    {"then": {"fault": "stream-error", "message": CANARY}},
]


@pytest.mark.parametrize("provider", ["deepseek", "mimo", "anthropic"])
async def test_provider_errors_never_carry_the_key(provider: str) -> None:
    async with SimulatorServer("ok") as sim:
        for script in FAULTS:
            for known_good in (False, True):
                sim.set_script(script)
                error = await _one_failure(sim.url, provider, known_good)
                text = "".join(traceback.format_exception(error)) + repr(error) + str(error)
                assert leaks(text) == [], (script, text)


async def _one_failure(base_url: str, provider: str, known_good: bool) -> BaseException:
    auth = AuthTracker()
    auth.known_good = known_good
    config = ProviderConfig(
        PRESETS[provider],
        base_url,
        "m",
        CANARY,
        RetrySettings(max_retries=1, max_auth_retries=1, initial_delay_ms=1),
    )
    REGISTRY.add(CANARY)  # as the session does when it resolves the key
    client = ProviderClient(config, auth, TransportFactory(NetworkSettings(timeout_s=0.3)))
    try:
        await asyncio.wait_for(client.chat(ChatPrompt("s", "u")), 30)
    except ProviderError as error:
        return error
    finally:
        await client.aclose()
    raise AssertionError("the fault did not fail the request")


def test_reprs_never_carry_the_key() -> None:
    preset = PRESETS["deepseek"]
    config = ProviderConfig(preset, "http://127.0.0.1:9", "m", CANARY)
    prompt = ChatPrompt("s", "u")
    objects: list[Any] = [
        config,
        chat_request("http://h", "m", prompt, auth="bearer", key=CANARY, stream=True),
        chat_request("http://h", "m", prompt, auth="api-key", key=CANARY, stream=False),
        messages_request("http://h", "m", prompt, key=CANARY, stream=True),
        fim_request("http://h", "m", _fim(), auth="bearer", key=CANARY),
        Identity(CANARY, "deepseek", "http://h"),
        ResolvedKey(CANARY, "setting"),
        Settings(api_key=CANARY),
    ]
    session = Session(env={"KESTREL_API_KEY": CANARY})
    objects += [session.key, session.settings]
    for obj in objects:
        assert leaks(repr(obj)) == [], repr(obj)
        assert leaks(str(obj)) == [], str(obj)


def _fim() -> Any:
    from kestrel_lsp.provider.wire import FimPrompt

    return FimPrompt("a", "b")
