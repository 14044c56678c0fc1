from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from kestrel_lsp.simulator.server import SimulatorServer

from forward_proxy import ForwardProxy, forward_proxy
from lsp_steps import GatedSimulator
from net_helpers import PROXY_CANARY, PROXY_USER, TlsFiles


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer("ok") as server:
        yield server


@pytest.fixture
async def gated() -> AsyncIterator[GatedSimulator]:
    async with GatedSimulator("ok") as server:
        yield server


# -- networks: TLS certificates, a TLS simulator, real forward proxies -------------------------


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def tls_sim(tls_files: TlsFiles) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer("ok", ssl_context=tls_files.server_context()) as server:
        yield server


@pytest.fixture(scope="module")
def proxy() -> Iterator[ForwardProxy]:
    with forward_proxy() as running:
        yield running


@pytest.fixture(scope="module")
def auth_proxy() -> Iterator[ForwardProxy]:
    with forward_proxy("--basic-auth", f"{PROXY_USER}:{PROXY_CANARY}") as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reliability suite's figures (fault matrix, fuzz counts) when it ran."""
    from reliability_report import REPORT

    lines = REPORT.lines()
    if lines:
        terminalreporter.section("Kestrel reliability")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The VS Code tests run last. They drive Chromium through playwright's sync API, whose
    event loop stays running in this thread while the browser is open; an asyncio test after
    them could not start its own loop ("Runner.run() cannot be called from a running event
    loop"). A stable sort keeps every other test in its collected order."""
    items.sort(key=lambda item: item.get_closest_marker("vscode") is not None)
