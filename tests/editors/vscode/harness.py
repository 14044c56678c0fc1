"""Drive real VS Code (code-server in headless Chromium) with the Kestrel .vsix installed.

Set-up follows ../shared/recipes/vscode-in-browser.md: `scripts/vscode-setup.sh` installs Node 24
and code-server into a cache outside the repository (`$KESTREL_CACHE`, default
`~/.cache/kestrel`) and builds the .vsix; each run gets its own user-data, extensions, XDG and
TMPDIR directories, and each test its own code-server process (one at a time: 2 cores).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
# KESTREL_SCREENSHOT_DIR redirects them (e.g. to keep a CI checkout clean).
SCREENSHOTS = Path(os.environ.get("KESTREL_SCREENSHOT_DIR") or REPO / "docs" / "screenshots")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PYTHON310 = Path("/root/.pyenv/versions/3.10.13/bin/python")
# Variables that would hand the server a key or a provider behind the test's back.
SCRUBBED_ENV = re.compile(
    r"^(KESTREL_.*|(DEEPSEEK|OPENAI|ANTHROPIC|MIMO|MINIMAX)_API_KEY|VSCODE_.*|ELECTRON_.*)$"
)


@dataclass(frozen=True)
class Toolchain:
    node24_bin: Path
    code_server: Path
    vsix: Path


def setup_toolchain() -> Toolchain:
    """Run scripts/vscode-setup.sh (idempotent; minutes the first time, seconds after)."""
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "vscode-setup.sh")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"vscode-setup.sh failed ({done.returncode}):\n{done.stderr[-4000:]}")
    values = dict(
        line.split("=", 1) for line in done.stdout.splitlines() if re.match(r"^[A-Z0-9_]+=", line)
    )
    return Toolchain(
        node24_bin=Path(values["NODE24_BIN"]),
        code_server=Path(values["CODE_SERVER"]),
        vsix=Path(values["VSIX"]),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not SCRUBBED_ENV.match(k)}
    env.update(extra or {})
    return env


# --- the provider simulator, through its CLI (SPEC: Provider simulator) --------------------------


class Simulator:
    """`python -m kestrel_lsp simulate --port 0 --script NAME` as a child process."""

    def __init__(self, script: str = "ok", python: str = sys.executable) -> None:
        self.script = script
        self.python = python
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Simulator:
        env = clean_env()
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO / "server"), env.get("PYTHONPATH")])
        )
        self._process = subprocess.Popen(
            [self.python, "-m", "kestrel_lsp", "simulate", "--port", "0", "--script", self.script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self._process.stdout is not None
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(self._process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(20)
        first = line[0].strip() if line else ""
        if not first.startswith("listening on "):
            self.__exit__()
            raise RuntimeError(f"simulator did not start: {first!r}")
        self.url = first.removeprefix("listening on ").strip()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _control(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def requests(self) -> list[dict[str, Any]]:
        return list(self._control("GET", "/_sim/requests")["requests"])

    def count(self) -> int:
        return int(self._control("GET", "/_sim/requests")["count"])

    def provider_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if not str(r.get("path", "")).startswith("/_sim/")]

    def set_script(self, script: str | dict[str, Any]) -> None:
        self._control(
            "POST", "/_sim/script", {"name": script} if isinstance(script, str) else script
        )


# --- code-server ---------------------------------------------------------------------------------


@dataclass
class CodeServer:
    """One code-server process with its own profile directories under `root`."""

    tools: Toolchain
    root: Path
    extensions_dir: Path
    folder: Path
    user_settings: dict[str, Any]
    trust: bool = False
    port: int = 0
    log_file: Path = field(init=False)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def user_data(self) -> Path:
        return self.root / "user-data"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?folder={self.folder}"

    def _env(self) -> dict[str, str]:
        for name in ("xdg-config", "xdg-data", "xdg-cache", "tmp"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        return clean_env(
            {
                "PATH": f"{self.tools.node24_bin}{os.pathsep}{os.environ.get('PATH', '')}",
                "XDG_CONFIG_HOME": str(self.root / "xdg-config"),
                "XDG_DATA_HOME": str(self.root / "xdg-data"),
                "XDG_CACHE_HOME": str(self.root / "xdg-cache"),
                "TMPDIR": str(self.root / "tmp"),
            }
        )

    def write_user_settings(self, settings: dict[str, Any]) -> None:
        """The profile's User/settings.json, read at start (code-server does not notice a later
        change of this file; change the folder's .vscode/settings.json instead)."""
        self.user_settings = settings
        settings_dir = self.user_data / "User"
        settings_dir.mkdir(parents=True, exist_ok=True)
        (settings_dir / "settings.json").write_text(json.dumps(settings, indent=2))

    def start(self) -> None:
        self.write_user_settings(self.user_settings)
        config = self.root / "code-server.yaml"
        config.write_text("auth: none\ncert: false\n")
        self.port = self.port or free_port()
        args = [
            str(self.tools.code_server),
            "--config",
            str(config),
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{self.port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-getting-started-override",
            "--user-data-dir",
            str(self.user_data),
            "--extensions-dir",
            str(self.extensions_dir),
        ]
        if not self.trust:
            args.append("--disable-workspace-trust")
        args.append(str(self.folder))
        self.log_file = self.root / "code-server.log"
        with self.log_file.open("wb") as log:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"code-server exited: {self.log_file.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            time.sleep(0.3)
        raise RuntimeError("code-server did not answer /healthz within 60 s")

    def stop(self) -> None:
        process = self._process
        self._process = None
        if process is None or process.poll() is not None:
            return
        # Its own session: the extension host and the Kestrel server go with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def logs_text(self) -> str:
        """Every log file code-server and VS Code wrote (output channels included)."""
        chunks = []
        for base in (self.user_data / "logs", self.root / "xdg-data", self.root / "tmp"):
            if base.exists():
                for path in sorted(base.rglob("*")):
                    if (
                        path.is_file()
                        and path.suffix in {".log", ".txt", ""}
                        and path.stat().st_size < 20_000_000
                    ):
                        chunks.append(f"==> {path}\n" + path.read_text(errors="replace"))
        if self.log_file.exists():
            chunks.append(f"==> {self.log_file}\n" + self.log_file.read_text(errors="replace"))
        return "\n".join(chunks)

    def kestrel_log(self) -> str:
        """The Kestrel output channel as written to disk (LogOutputChannel files)."""
        texts = [
            p.read_text(errors="replace")
            for p in sorted((self.user_data / "logs").rglob("*.log"))
            if "kestrel" in str(p).lower()
        ]
        return "\n".join(texts)


def install_extension(
    tools: Toolchain, extensions_dir: Path, user_data: Path, env_root: Path
) -> None:
    """`code-server --install-extension kestrel-x.y.z.vsix` into an isolated profile."""
    cs = CodeServer(tools, env_root, extensions_dir, env_root, {})
    done = subprocess.run(
        [
            str(tools.code_server),
            "--user-data-dir",
            str(user_data),
            "--extensions-dir",
            str(extensions_dir),
            "--install-extension",
            str(tools.vsix),
            "--force",
        ],
        env=cs._env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0 or not any(extensions_dir.glob("kestrel.kestrel-*")):
        raise RuntimeError(f"install-extension failed: {done.stdout}\n{done.stderr}")


# --- the workbench, through the real UI ----------------------------------------------------------


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


TOASTS_JS = """() => [...document.querySelectorAll(
        '.notifications-toasts .notification-list-item')].map(el => ({
    message: (el.querySelector('.notification-list-item-message')?.textContent || '').trim(),
    severity: el.querySelector('.codicon-error') ? 'error'
            : el.querySelector('.codicon-warning') ? 'warning' : 'info',
    buttons: [...el.querySelectorAll(
        '.notification-list-item-buttons-container .monaco-button')]
        .map(b => (b.textContent || '').trim()),
}))"""


@dataclass
class Toast:
    message: str
    severity: str
    buttons: list[str]


class Workbench:
    """A code-server page: command palette, notifications, editor, Quick Fix."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector(".monaco-workbench", timeout=90_000)
        # The status bar is there once the workbench has restored.
        self.page.wait_for_selector(".statusbar", timeout=60_000)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.wait_for_timeout(1200)  # let toasts and menus finish their animations
        self.page.screenshot(path=str(path))
        return path

    # notifications
    def toasts(self) -> list[Toast]:
        items: list[dict[str, Any]] = self.page.evaluate(TOASTS_JS)
        return [Toast(**t) for t in items]

    def wait_toast(self, prefix: str, timeout: float = 60) -> Toast:
        def find() -> Toast | None:
            return next((t for t in self.toasts() if t.message.startswith(prefix)), None)

        return wait_until(find, timeout, f"a notification starting {prefix!r}")

    def click_toast_button(self, prefix: str, button: str) -> None:
        item = self.page.locator(".notifications-toasts .notification-list-item").filter(
            has_text=prefix
        )
        item.first.locator(".monaco-button", has_text=button).first.click()

    def clear_toasts(self) -> None:
        self.run_command("Notifications: Clear All Notifications")
        wait_until(lambda: not self.toasts(), 10, "no notifications")
        # Forget what the toast recorder (conftest.OBSERVE_TOASTS) saw so far.
        self.page.evaluate("() => { if (window.__kestrelToasts) window.__kestrelToasts = []; }")

    # command palette and quick input
    def close_quick_input(self) -> None:
        """Escape only when a quick input is open (Escape also hides notification toasts)."""
        if self.page.locator(".quick-input-widget input.input").is_visible():
            self.page.keyboard.press("Escape")

    def run_command(self, title: str) -> None:
        self.close_quick_input()
        self.page.keyboard.press("F1")
        box = self.page.locator(".quick-input-widget input.input")
        box.wait_for(state="visible", timeout=15_000)
        box.fill(f">{title}")
        row = self.page.locator(".quick-input-widget .monaco-list-row", has_text=title).first
        row.wait_for(state="visible", timeout=15_000)
        self.page.keyboard.press("Enter")

    def quick_input(self) -> Any:
        box = self.page.locator(".quick-input-widget input.input")
        box.wait_for(state="visible", timeout=15_000)
        return box

    def password_box(self) -> Any:
        """The input box in password mode (the key is never shown)."""
        box = self.page.locator(".quick-input-widget input.input[type='password']")
        box.wait_for(state="visible", timeout=15_000)
        return box

    def quick_input_message(self) -> str:
        return str(
            self.page.evaluate(
                """() => (document.querySelector('.quick-input-widget .quick-input-message')
                         ?.textContent || '').trim()"""
            )
        )

    def set_api_key(self, key: str) -> None:
        """Kestrel: Set API Key from F1, the key typed into the password box."""
        self.run_command("Kestrel: Set API Key")
        box = self.password_box()
        box.type(key, delay=5)
        self.page.keyboard.press("Enter")
        self.page.locator(".quick-input-widget").wait_for(state="hidden", timeout=15_000)

    # editor
    def open_file(self, relative: str) -> None:
        self.close_quick_input()
        self.page.keyboard.press("F1")
        box = self.quick_input()
        box.fill(relative)
        row = self.page.locator(
            ".quick-input-widget .monaco-list-row", has_text=Path(relative).name
        ).first
        row.wait_for(state="visible", timeout=20_000)
        self.page.keyboard.press("Enter")
        self.page.locator(
            f".tabs-container .tab[data-resource-name='{Path(relative).name}']"
        ).wait_for(timeout=20_000)
        self.page.locator(".editor-instance .monaco-editor textarea").first.wait_for(
            state="attached", timeout=20_000
        )
        self.page.wait_for_function(
            "() => document.activeElement?.closest('.monaco-editor') != null",
            timeout=10_000,
        )

    def go_to_line(self, line: int) -> None:
        self.page.keyboard.press("Control+g")
        box = self.quick_input()
        box.fill(f":{line}")
        self.page.keyboard.press("Enter")

    def status_item(self) -> str:
        return str(
            self.page.evaluate(
                """() => {
                    const el = [...document.querySelectorAll('.statusbar-item')]
                        .find(e => (e.getAttribute('aria-label') || e.textContent || '')
                                   .includes('Kestrel'));
                    return el ? (el.getAttribute('aria-label') || el.textContent || '').trim() : '';
                }"""
            )
        )

    def code_action_rows(self) -> list[str]:
        return list(
            self.page.evaluate(
                """() => [...document.querySelectorAll('.action-widget .monaco-list-row')]
                        .map(r => r.getAttribute('aria-label') || (r.textContent || '').trim())"""
            )
        )

    def open_quick_fix(self, expect: str = "Kestrel: ", timeout: float = 30) -> list[str]:
        """Control+. and wait for a Kestrel row; retries (the server may still be starting)."""
        deadline = time.monotonic() + timeout
        rows: list[str] = []
        while time.monotonic() < deadline:
            self.page.keyboard.press("Control+.")
            with contextlib.suppress(Exception):
                self.page.locator(".action-widget .monaco-list-row").first.wait_for(
                    state="visible", timeout=5_000
                )
            rows = self.code_action_rows()
            if any(r.startswith(expect) for r in rows):
                return rows
            self.page.keyboard.press("Escape")
            time.sleep(1)
        raise AssertionError(f"no {expect!r} row in the Quick Fix menu: {rows}")

    def choose_code_action(self, prefix: str) -> None:
        row = self.page.locator(".action-widget .monaco-list-row", has_text=prefix).first
        row.hover()
        row.click()

    def save(self) -> None:
        self.page.keyboard.press("Control+s")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def copy_sample_project(dest: Path) -> Path:
    """A small Python project (the same one the demo opens)."""
    src = REPO / "scripts" / "sample-project"
    shutil.copytree(src, dest)
    return dest
