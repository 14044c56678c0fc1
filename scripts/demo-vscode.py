"""The README's first command: Kestrel in VS Code (code-server) on 127.0.0.1, in a minute or two.

    python3 scripts/demo-vscode.py [--port N] [--script NAME] [--check]

1. `scripts/vscode-setup.sh`: Node 24 and code-server into `${KESTREL_CACHE:-~/.cache/kestrel}`
   (keyed by version, reused when present) and the .vsix built from this checkout.
2. The .vsix installed into an isolated profile (`${KESTREL_DEMO_DIR:-<cache>/demo}`).
3. Unless `KESTREL_PROVIDER` or `KESTREL_API_KEY` is set, the provider simulator
   (`kestrel-lsp simulate`, script `ok` or `--script NAME`) is started, the profile's user
   settings.json gets `kestrel.provider: "openai-compatible"` and `kestrel.baseUrl: <simulator
   URL>`, and code-server's environment carries a demo key the simulator accepts
   (`KESTREL_DEMO_API_KEY`: the extension uses it while no key is stored, until Clear API Key),
   so the first action works with no key typed. Otherwise those settings are removed from the
   profile, and the server takes KESTREL_PROVIDER / KESTREL_API_KEY / KESTREL_BASE_URL /
   KESTREL_MODEL (and the provider's own key variable) from the environment.
4. code-server serves a sample Python project (its README says what to try, with the
   simulator's URL filled in); the URL is printed. Ctrl+C stops everything.

`--check` starts everything, waits for code-server, prints the URL and stops (a smoke test).
`--vsix PATH` installs that .vsix instead of building one (the tests pass the one they built).
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KESTREL_CACHE") or Path.home() / ".cache" / "kestrel")
DEMO = Path(os.environ.get("KESTREL_DEMO_DIR") or CACHE / "demo")
DEFAULT_PORT = 8742
# The simulator accepts any key; this one is what the extension uses until you set or clear one.
DEMO_KEY = "kestrel-demo-key"
SIMULATOR_URL_MARK = "{{SIMULATOR_URL}}"


def say(message: str) -> None:
    print(f"[kestrel demo] {message}", flush=True)


def setup(vsix: str | None) -> dict[str, str]:
    say("setting up Node 24, code-server and the .vsix (minutes the first time) ...")
    env = dict(os.environ, KESTREL_SKIP_VSIX="1") if vsix else None
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "vscode-setup.sh")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        sys.exit(f"vscode-setup.sh failed with exit code {done.returncode}")
    tools = dict(
        line.split("=", 1) for line in done.stdout.splitlines() if re.match(r"^[A-Z0-9_]+=", line)
    )
    if vsix:
        tools["VSIX"] = vsix
    return tools


def server_python() -> tuple[list[str], dict[str, str]]:
    """How to run `kestrel-lsp simulate` from this checkout."""
    env = dict(os.environ)
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists():
        return [str(venv), "-m", "kestrel_lsp"], env
    # No project venv: the server and its libraries as bundled into the .vsix by the set-up.
    libs = ROOT / "client-extension" / "bundled" / "libs"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(libs), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "kestrel_lsp"], env


def start_simulator(script: str) -> tuple[subprocess.Popen[str], str]:
    command, env = server_python()
    process = subprocess.Popen(
        [*command, "simulate", "--port", "0", "--script", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=(DEMO / "simulator.log").open("w"),
        text=True,
        env=env,
        start_new_session=True,
    )
    assert process.stdout is not None
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    line = first[0].strip() if first else ""
    if not line.startswith("listening on "):
        process.kill()
        sys.exit(f"the simulator did not start: {line!r}")
    return process, line.removeprefix("listening on ").strip()


def port_free(port: int) -> bool:
    """Free to listen on. SO_REUSEADDR, as code-server's own listener has it: a port whose last
    connections are still in TIME_WAIT (a demo restarted a moment ago) counts as free."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pick_port(wanted: int) -> int:
    """`wanted` when it is free, else (or for 0) a free port."""
    if wanted and port_free(wanted):
        return wanted
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_user_settings(user_data: Path, simulator_url: str | None) -> None:
    path = user_data / "User" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings: dict[str, object] = {}
    if path.exists():
        with contextlib.suppress(ValueError):
            settings = json.loads(path.read_text())
    settings.update(
        {
            "workbench.startupEditor": "none",
            "workbench.secondarySideBar.defaultVisibility": "hidden",
            "chat.disableAIFeatures": True,
            "telemetry.telemetryLevel": "off",
            "extensions.ignoreRecommendations": True,
        }
    )
    if simulator_url:
        settings["kestrel.provider"] = "openai-compatible"
        settings["kestrel.baseUrl"] = simulator_url
        settings["kestrel.model"] = "sim-model"
    else:
        for key in ("kestrel.provider", "kestrel.baseUrl", "kestrel.model"):
            settings.pop(key, None)
    path.write_text(json.dumps(settings, indent=2) + "\n")


def copy_sample_project(project: Path, simulator_url: str | None) -> None:
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(ROOT / "scripts" / "sample-project", project)
    readme = project / "README.md"
    shown = simulator_url or "(no simulator: a real provider from your environment)"
    readme.write_text(readme.read_text(encoding="utf-8").replace(SIMULATOR_URL_MARK, shown))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("KESTREL_DEMO_PORT", DEFAULT_PORT)),
        help=f"code-server's port on 127.0.0.1 (default {DEFAULT_PORT}; 0: a free one)",
    )
    parser.add_argument("--script", default="ok", help="the simulator's script (default: ok)")
    parser.add_argument("--vsix", help="install this .vsix instead of building one")
    parser.add_argument("--check", action="store_true", help="start, check, print the URL, stop")
    args = parser.parse_args()

    tools = setup(args.vsix)
    node24, code_server, vsix = tools["NODE24_BIN"], tools["CODE_SERVER"], tools["VSIX"]
    user_data, extensions = DEMO / "user-data", DEMO / "extensions"
    dirs = {name: DEMO / name for name in ("xdg-config", "xdg-data", "xdg-cache", "tmp")}
    for d in (user_data, extensions, *dirs.values()):
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{node24}{os.pathsep}{env.get('PATH', '')}",
            "XDG_CONFIG_HOME": str(dirs["xdg-config"]),
            "XDG_DATA_HOME": str(dirs["xdg-data"]),
            "XDG_CACHE_HOME": str(dirs["xdg-cache"]),
            "TMPDIR": str(dirs["tmp"]),
        }
    )
    profile = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]

    say("installing the Kestrel extension into the demo profile ...")
    subprocess.run(
        [code_server, *profile, "--install-extension", vsix, "--force"],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )

    project = DEMO / "project"

    children: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    real_provider = bool(os.environ.get("KESTREL_PROVIDER") or os.environ.get("KESTREL_API_KEY"))
    simulator_url = None
    if real_provider:
        say("KESTREL_PROVIDER/KESTREL_API_KEY set: using the real provider from the environment")
    else:
        simulator, simulator_url = start_simulator(args.script)
        children.append(simulator)
        env["KESTREL_DEMO_API_KEY"] = DEMO_KEY
        say(f"provider simulator at {simulator_url} (script {args.script}), with a demo key")
    write_user_settings(user_data, simulator_url)
    copy_sample_project(project, simulator_url)

    port = pick_port(args.port)
    config = DEMO / "code-server.yaml"
    config.write_text("auth: none\ncert: false\n")
    log = (DEMO / "code-server.log").open("wb")
    code = subprocess.Popen(
        [
            code_server,
            "--config",
            str(config),
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            *profile,
            str(project),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    children.append(code)

    def stop(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)

    def on_sigterm(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 60
        while True:
            if code.poll() is not None:
                say(f"code-server exited; see {DEMO / 'code-server.log'}")
                return 1
            with contextlib.suppress(OSError):
                with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            if time.monotonic() > deadline:
                say("code-server did not answer within 60 s")
                return 1
            time.sleep(0.3)
        url = f"http://127.0.0.1:{port}/?folder={project}"
        print(flush=True)
        say("VS Code with Kestrel is ready. Open:")
        print(f"\n    {url}\n", flush=True)
        if simulator_url:
            say(
                "Open inventory.py, put the cursor in a function, press Ctrl+. and pick"
                " 'Kestrel: Add docstring' (no key needed: the demo brings one for its simulator)."
                " The project's README.md shows the missing-key and rejected-key notices."
                " Ctrl+C stops."
            )
        else:
            say("Open a file, press Ctrl+. for Kestrel's actions. Ctrl+C stops.")
        if args.check:
            return 0
        while code.poll() is None:
            time.sleep(1)
        return code.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
