"""The known-good rules on real connections (the simulator logs each request's source port):
after a 401/403 every later attempt of that operation goes out on a new connection, even after a
429; after a failed recovery the next operation does not reuse the pool; and a 401 burst whose
late requests succeed ends with every operation answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.errors import AuthRejectedError
from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.pool import TransportFactory
from kestrel_lsp.provider.wire import ChatPrompt
from kestrel_lsp.simulator.server import SimulatorServer

from provider_fakes import CANARY, RecordingSleep

PROMPT = ChatPrompt(system="s", user="Rewrite:\n```python\nx = 1\n```")


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer("ok") as server:
        yield server


def client_for(sim: SimulatorServer, sleep: RecordingSleep | None = None) -> ProviderClient:
    config = ProviderConfig(PRESETS["deepseek"], sim.url, "sim-model", CANARY, RetrySettings())
    factory = TransportFactory(NetworkSettings(timeout_s=10, env={}))
    return ProviderClient(
        config, AuthTracker(), factory, sleep=sleep or RecordingSleep(), rand=lambda: 0.0
    )


def ports(sim: SimulatorServer) -> list[int]:
    return [r["peer_port"] for r in sim.requests]


async def test_the_attempt_after_401_then_429_goes_out_from_a_new_source_port(sim) -> None:
    sleep = RecordingSleep()
    client = client_for(sim, sleep)
    sim.set_script({"steps": [200, 401, 429, 200]})
    await client.chat(PROMPT)
    await client.chat(PROMPT)
    await client.aclose()
    assert [r["status"] for r in sim.requests] == [200, 401, 429, 200]
    warm, got_401, got_429, last = ports(sim)
    assert got_401 == warm  # the operation started on the pooled connection
    assert len({got_401, got_429, last}) == 3  # then a new one for each attempt
    assert sleep.delays == [0.5, 1.0]


async def test_the_first_request_after_a_failed_recovery_goes_out_from_a_new_source_port(
    sim,
) -> None:
    client = client_for(sim)
    slow = {"status": 200, "delay_ms": 200}
    sim.set_script({"steps": [200, slow, slow, 401, 401, 401], "then": 200})
    await client.chat(PROMPT)  # known-good from here
    await asyncio.gather(client.chat(PROMPT), client.chat(PROMPT))  # two pooled connections
    with pytest.raises(AuthRejectedError):
        await client.chat(PROMPT)
    await client.chat(PROMPT)
    await client.aclose()
    used = ports(sim)
    assert len(set(used[1:3])) == 2 and used[3] in used[1:3]  # the 401 came on a pooled one
    assert used[-1] not in used[:-1]  # neither of the pooled ones, nor a retry's


async def test_a_burst_whose_late_requests_succeed_answers_every_operation(sim) -> None:
    """The named script `burst401-late`: ten concurrent operations meet ten 401s, except two
    requests that reach the simulator 1 s late and get 200, after the leader's retries failed."""
    client = client_for(sim)
    sim.set_script("burst401-late")
    await client.chat(PROMPT)
    answers = await asyncio.gather(*(client.chat(PROMPT) for _ in range(10)))
    await client.aclose()
    assert all(answer.text for answer in answers)
    statuses = [r["status"] for r in sim.requests[1:]]
    assert statuses.count(401) == 10
    assert len(statuses) <= 2 * 10 + 2 - 1
    assert client.auth.known_good and client.auth.failed_operations == 0
