"""A 401 burst whose outcome must not depend on timing, through the real server: the simulator's
`burst401-late` script delays two of the ten burst requests by 1 s, deterministically, so they
reach it after the leader's retries have failed and get 200. The shared recovery's verdict waits
for them, so every action edits, within 2N + maxAuthRetries - 1 provider requests."""

from __future__ import annotations

import asyncio

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_steps import VSCODE, ask_provider, kestrel, states
from reliability_report import REPORT

N = 10
MAX_AUTH_RETRIES = 2


async def test_ten_actions_in_a_401_burst_with_two_late_requests_all_edit(
    sim: SimulatorServer,
) -> None:
    sim.set_script("burst401-late")
    # No backoff: the leader's two retries (each 401 takes the simulator 0.2 s) have failed by
    # about 0.6 s, before the late requests arrive (1 s).
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        assert (await ask_provider(ed)).edit is not None  # the key is known-good from here
        resolved = await asyncio.gather(*(ask_provider(ed) for _ in range(N)))
        assert all(action.edit is not None for action in resolved)
        assert ed.notices == [] and states(ed) == ["ok"]
    burst = [r["status"] for r in sim.requests[1:]]
    assert burst.count(401) == N  # the gateway's whole burst was met
    assert len(burst) <= 2 * N + MAX_AUTH_RETRIES - 1
    REPORT.hostile.append(
        f"401 burst, two of ten requests 1 s late: {N}/{N} actions edited, "
        f"{len(burst)} requests (bound {2 * N + MAX_AUTH_RETRIES - 1})"
    )
