"""Fixtures for the real-VS-Code tests: the toolchain (set up once per machine), one extensions
directory per run, one code-server per test, one headless Chromium per run."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import harness as h

# The toolchain's first set-up installs Node 24 and code-server (about 3 minutes).
SETUP_TIMEOUT = 1800


@pytest.fixture(scope="session")
def toolchain() -> h.Toolchain:
    return h.setup_toolchain()


@pytest.fixture(scope="session")
def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kestrel-vscode-run")


@pytest.fixture(scope="session")
def extensions_dir(toolchain: h.Toolchain, run_root: Path) -> Path:
    ext = run_root / "extensions"
    h.install_extension(toolchain, ext, run_root / "install-user-data", run_root / "install")
    return ext


# Module scope: Playwright's sync API keeps an event loop running while it is open, and the
# asyncio tests collected after tests/editors/vscode/ (tests/lsp, tests/provider) cannot start
# their own while it runs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with h.chromium() as b:
        yield b


def canary(label: str) -> str:
    return f"sk-kestrel-canary-{label}-{secrets.token_hex(12)}"


def base_settings(trust: bool = False) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "kestrel.provider": "deepseek",
        "kestrel.trace.server": "verbose",
        # No automatic completions: every provider request in these tests is an explicit action.
        "kestrel.completion.enabled": False,
        "kestrel.retry.initialDelayMs": 50,
        "kestrel.retry.maxDelayMs": 200,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": True,
        "extensions.ignoreRecommendations": True,
        "telemetry.telemetryLevel": "off",
        "git.enabled": False,
        "files.autoSave": "off",
        "security.workspace.trust.enabled": trust,
        "security.workspace.trust.startupPrompt": "never",
    }
    if h.PYTHON310.exists():
        # The oldest supported Python runs the .vsix's bundled server and libraries.
        settings["kestrel.interpreter"] = str(h.PYTHON310)
    return settings


OBSERVE_TOASTS = """() => {
    window.__kestrelToasts = [];
    const seen = new WeakSet();
    const record = () => {
        for (const el of document.querySelectorAll('.notification-list-item')) {
            const msg = el.querySelector('.notification-list-item-message');
            const message = (msg?.textContent || '').trim();
            if (!message || seen.has(el)) continue;
            seen.add(el);
            window.__kestrelToasts.push({
                message,
                severity: el.querySelector('.codicon-error') ? 'error'
                        : el.querySelector('.codicon-warning') ? 'warning' : 'info',
            });
        }
    };
    new MutationObserver(record).observe(document.body, {childList: true, subtree: true});
    record();
}"""


class Session:
    """One code-server (own profile) and its page, plus what the test's canary keys are."""

    def __init__(self, server: h.CodeServer, page: Any) -> None:
        self.server = server
        self.page = page
        self.wb = h.Workbench(page)
        self.keys: list[str] = []

    def key(self, label: str) -> str:
        value = canary(label)
        self.keys.append(value)
        return value

    def all_toasts(self) -> list[dict[str, str]]:
        return list(self.page.evaluate("() => window.__kestrelToasts || []"))


@pytest.fixture
def open_vscode(
    toolchain: h.Toolchain,
    extensions_dir: Path,
    browser: Any,
    tmp_path: Path,
) -> Iterator[Callable[..., Session]]:
    """`open_vscode(settings, trust=False, folder_settings=None)`: a Session on the sample."""
    opened: list[Session] = []

    def open_(
        settings: dict[str, Any],
        trust: bool = False,
        folder_settings: dict[str, Any] | None = None,
    ) -> Session:
        assert not opened, "one code-server per test (2 cores)"
        folder = h.copy_sample_project(tmp_path / "project")
        if folder_settings is not None:
            (folder / ".vscode").mkdir()
            (folder / ".vscode" / "settings.json").write_text(json.dumps(folder_settings, indent=2))
        server = h.CodeServer(
            toolchain, tmp_path / "profile", extensions_dir, folder, settings, trust=trust
        )
        server.start()
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        session = Session(server, page)
        opened.append(session)
        session.wb.open(server.url)
        page.evaluate(OBSERVE_TOASTS)
        return session

    yield open_

    for session in opened:
        try:
            session.page.context.close()
        finally:
            session.server.stop()
        # No key, or any part of it, in anything VS Code or the server wrote.
        text = session.server.logs_text()
        for key in session.keys:
            assert key not in text, "an API key leaked into the logs"
            assert key[-16:] not in text, "part of an API key leaked into the logs"
    shutil.rmtree(tmp_path / "profile" / "xdg-cache", ignore_errors=True)
