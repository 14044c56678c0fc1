"""The provider client against the simulator over real HTTP on 127.0.0.1 (issue 2's must-shows).

Delays are asserted as requested through an injectable sleep, never by the wall clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from kestrel_lsp.features.notices import notice_text
from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.errors import (
    AuthRejectedError,
    MissingKeyError,
    ProviderError,
    ProviderResponseError,
    ProviderUnavailableError,
    RateLimitedError,
    StreamInterruptedError,
)
from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.pool import TransportFactory
from kestrel_lsp.provider.wire import ChatPrompt, FimPrompt
from kestrel_lsp.secrets import RedactingFormatter
from kestrel_lsp.simulator.server import SimulatorServer

from provider_fakes import RecordingSleep

CANARY = "sk-kestrel-canary-0b7e4c1d9a2f68e35"
PROMPT = ChatPrompt(system="s", user="Rewrite:\n```python\nx = 1\n```")


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer("ok") as server:
        yield server


def client_for(
    sim: SimulatorServer,
    *,
    provider: str = "deepseek",
    key: str | None = CANARY,
    auth: AuthTracker | None = None,
    sleep: RecordingSleep | None = None,
    timeout_s: float = 10.0,
    base_url: str | None = None,
) -> ProviderClient:
    config = ProviderConfig(
        preset=PRESETS[provider],
        base_url=base_url or sim.url,
        model="sim-model",
        key=key,
        retry=RetrySettings(),
    )
    factory = TransportFactory(NetworkSettings(timeout_s=timeout_s, env={}))
    return ProviderClient(
        config, auth or AuthTracker(), factory, sleep=sleep or RecordingSleep(), rand=lambda: 0.0
    )


def statuses(sim: SimulatorServer) -> list[object]:
    return [r["status"] for r in sim.requests]


async def test_known_good_transient_401_twice_recovers_in_three_requests(sim) -> None:
    sleep = RecordingSleep()
    client = client_for(sim, sleep=sleep)
    await client.chat(PROMPT)
    sim.set_script({"steps": [401, 401], "then": {"status": 200}})
    reply = await client.chat(PROMPT)
    assert "x = 1" in reply.text
    assert statuses(sim) == [401, 401, 200]
    assert sleep.delays == [0.5, 1.0]
    # every auth retry goes out on a new connection, never the pooled one that got the 401
    ports = [r["peer_port"] for r in sim.requests]
    assert len(set(ports)) == 3
    await client.aclose()


async def test_known_good_persistent_401_gives_up_after_three(sim) -> None:
    client = client_for(sim)
    await client.chat(PROMPT)
    sim.set_script("reject-all")
    with pytest.raises(AuthRejectedError) as err:
        await client.chat(PROMPT)
    assert len(sim.requests) == 3
    assert err.value.had_worked and "retried 2 times with backoff" in notice_text(err.value)
    await client.aclose()


async def test_never_worked_key_gets_exactly_one_request(sim) -> None:
    sim.set_script("reject-all")
    with pytest.raises(AuthRejectedError) as err:
        await client_for(sim).chat(PROMPT)
    assert len(sim.requests) == 1
    assert notice_text(err.value).endswith(
        'Check that the key is correct and active. The server said: "Authentication failed: '
        'the API key is missing, wrong, or expired"'
    )


async def test_missing_key_sends_nothing(sim) -> None:
    with pytest.raises(MissingKeyError):
        await client_for(sim, key=None).chat(PROMPT)
    assert sim.requests == []


async def test_changing_the_key_resets_known_good(sim) -> None:
    tracker = AuthTracker()
    await client_for(sim, auth=tracker).chat(PROMPT)
    sim.set_script("reject-all")
    # the session makes a new tracker for a new key (tests/test_session.py checks that part)
    with pytest.raises(AuthRejectedError) as err:
        await client_for(sim, key="sk-another-key-1234", auth=AuthTracker()).chat(PROMPT)
    assert len(sim.requests) == 1 and not err.value.had_worked


async def test_retry_after_one_second_is_requested_as_one_second(sim) -> None:
    sleep = RecordingSleep()
    sim.set_script("rate-limited")
    await client_for(sim, sleep=sleep).chat(PROMPT)
    assert statuses(sim) == [429, 200]
    assert sleep.delays == [1.0]


async def test_long_retry_after_gives_up_at_once_saying_how_long(sim) -> None:
    sim.set_script("rate-limited-long")
    with pytest.raises(RateLimitedError) as err:
        await client_for(sim).chat(PROMPT)
    assert len(sim.requests) == 1 and "120 s" in notice_text(err.value)


async def test_server_errors_are_retried(sim) -> None:
    sleep = RecordingSleep()
    sim.set_script("server-errors")
    with pytest.raises(ProviderResponseError) as err:
        await client_for(sim, sleep=sleep).chat(PROMPT)
    assert statuses(sim) == [500, 502, 503]
    assert notice_text(err.value).startswith("Kestrel: deepseek answered HTTP 503: ")
    assert sleep.delays == [0.5, 1.0]


async def test_reset_and_truncation_and_garbage(sim) -> None:
    sim.set_script("reset")
    assert await client_for(sim).chat(PROMPT)
    assert statuses(sim) == ["reset", 200]
    sim.set_script({"steps": [{"fault": "truncate"}]})
    with pytest.raises(StreamInterruptedError):
        await client_for(sim).chat(PROMPT)
    assert len(sim.requests) == 1
    sim.set_script({"steps": [{"fault": "garbage"}]})
    with pytest.raises(ProviderResponseError) as err:
        await client_for(sim).chat(PROMPT, stream=False)
    assert "could not be read" in notice_text(err.value) and len(sim.requests) == 1


async def test_a_garbage_stream_is_an_error_and_not_retried(sim) -> None:
    sim.set_script({"steps": [{"fault": "garbage"}]})
    with pytest.raises(ProviderResponseError) as err:
        await client_for(sim).chat(PROMPT, stream=True)
    assert "could not be read" in notice_text(err.value)
    assert len(sim.requests) == 1


async def test_stall_times_out_and_reports_unreachable(sim) -> None:
    sim.set_script({"steps": [{"fault": "stall", "delay_ms": 5000}], "then": "cycle"})
    with pytest.raises(ProviderUnavailableError) as err:
        await client_for(sim, timeout_s=0.2).chat(PROMPT, stream=False)
    assert len(sim.requests) == 3
    assert "timeout" in notice_text(err.value)


async def test_refused_connection_is_unreachable() -> None:
    async with SimulatorServer("ok") as closed:
        url = closed.url
    config = ProviderConfig(PRESETS["deepseek"], url, "m", CANARY)
    client = ProviderClient(
        config, AuthTracker(), TransportFactory(NetworkSettings(env={})), sleep=RecordingSleep()
    )
    with pytest.raises(ProviderUnavailableError) as err:
        await client.chat(PROMPT)
    assert notice_text(err.value) == f"Kestrel: cannot reach deepseek at {url}: connection refused."


async def test_coalescing_ten_concurrent_operations_on_a_401_burst(sim) -> None:
    client = client_for(sim)
    await client.chat(PROMPT)
    sim.set_script("reject-all")
    results = await asyncio.gather(
        *(client.chat(PROMPT) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, AuthRejectedError) for r in results)
    assert len(sim.requests) <= 10 + 2  # not 30
    await client.aclose()


async def test_cancellation_during_backoff_returns_at_once(sim) -> None:
    sleeping = asyncio.Event()

    async def slow_sleep(_delay: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    client = client_for(sim)
    client._sleep = slow_sleep
    sim.set_script({"steps": [500], "then": {"status": 200}})
    task = asyncio.create_task(client.chat(PROMPT))
    await sleeping.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(sim.requests) == 1


@pytest.mark.parametrize(
    ("provider", "scheme", "path"),
    [
        ("deepseek", "bearer", "/chat/completions"),
        ("mimo", "api-key", "/chat/completions"),
        ("anthropic", "x-api-key", "/v1/messages"),
    ],
)
async def test_wire_formats_and_auth_headers(sim, provider: str, scheme: str, path: str) -> None:
    reply = (await client_for(sim, provider=provider).chat(PROMPT)).text
    assert reply.startswith("```python\nx = 1")
    (entry,) = sim.requests
    assert (entry["auth_scheme"], entry["path"], entry["stream"]) == (scheme, path, True)
    if provider == "anthropic":
        assert entry["anthropic_version"] == "2023-06-01"


async def test_deepseek_fim_endpoint_drops_a_trailing_v1(sim) -> None:
    client = client_for(sim, base_url=sim.url + "/v1")
    sim.set_script({"reply": "sim_completion()"})
    reply = await client.fill_in_middle(FimPrompt("def f(", "):"), retry_budget_s=2.0)
    assert reply.text == "sim_completion()"
    assert sim.requests[0]["path"] == "/beta/completions"


async def test_pooled_connection_is_reused_for_streams(sim) -> None:
    client = client_for(sim)
    for _ in range(3):
        await client.chat(PROMPT)
    assert len({r["peer_port"] for r in sim.requests}) == 1
    await client.aclose()


async def test_the_canary_key_is_in_no_log_line_error_or_repr(sim, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter())
    errors: list[ProviderError] = []
    client = client_for(sim)
    await client.chat(PROMPT)
    for script in ("reject-all", "quota402", "bad-request400", "server-errors"):
        sim.set_script(script)
        try:
            await client.chat(PROMPT)
        except ProviderError as exc:
            errors.append(exc)
    assert len(errors) == 4
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(client.config)]
    texts += [caplog.text, repr(sim.requests)]
    assert all(CANARY not in text for text in texts)
    await client.aclose()
