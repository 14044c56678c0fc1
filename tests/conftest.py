from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kestrel_lsp.simulator.server import SimulatorServer


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer("ok") as server:
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reliability suite's figures (fault matrix, fuzz counts) when it ran."""
    from reliability_report import REPORT

    lines = REPORT.lines()
    if lines:
        terminalreporter.section("Kestrel reliability")
        for line in lines:
            terminalreporter.write_line(line)
