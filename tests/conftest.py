from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_steps import GatedSimulator


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer("ok") as server:
        yield server


@pytest.fixture
async def gated() -> AsyncIterator[GatedSimulator]:
    async with GatedSimulator("ok") as server:
        yield server
