from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kestrel_lsp.simulator.server import SimulatorServer


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer("ok") as server:
        yield server
