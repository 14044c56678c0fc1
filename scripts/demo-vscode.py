"""The README's first command: Kestrel in VS Code (code-server) on 127.0.0.1, in a minute or two.

    python3 scripts/demo-vscode.py [--port N] [--check]

1. `scripts/vscode-setup.sh`: Node 24 and code-server into `${KESTREL_CACHE:-~/.cache/kestrel}`
   (keyed by version, reused when present) and the .vsix built from this checkout.
2. The .vsix installed into an isolated profile under that cache (`demo/`).
3. Unless `KESTREL_PROVIDER` or `KESTREL_API_KEY` is set, the provider simulator
   (`kestrel-lsp simulate`) is started and the profile's user settings.json gets
   `kestrel.provider: "openai-compatible"` and `kestrel.baseUrl: <simulator URL>`. Otherwise those
   keys are removed from the profile, and the server takes KESTREL_PROVIDER / KESTREL_API_KEY /
   KESTREL_BASE_URL / KESTREL_MODEL (and the provider's own key variable) from the environment.
4. code-server serves a sample Python project; the URL is printed. Ctrl+C stops everything.

`--check` starts everything, waits for code-server, prints the URL and stops (a smoke test).
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
DEMO = CACHE / "demo"
DEFAULT_PORT = 8742


def say(message: str) -> None:
    print(f"[kestrel demo] {message}", flush=True)


def setup() -> dict[str, str]:
    say("setting up Node 24, code-server and the .vsix (minutes the first time) ...")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "vscode-setup.sh")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"vscode-setup.sh failed with exit code {done.returncode}")
    return dict(
        line.split("=", 1) for line in done.stdout.splitlines() if re.match(r"^[A-Z0-9_]+=", line)
    )


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


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    command, env = server_python()
    process = subprocess.Popen(
        [*command, "simulate", "--port", "0", "--script", "ok"],
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
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pick_port(wanted: int) -> int:
    if port_free(wanted):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("KESTREL_DEMO_PORT", DEFAULT_PORT))
    )
    parser.add_argument("--check", action="store_true", help="start, check, print the URL, stop")
    args = parser.parse_args()

    tools = setup()
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
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(ROOT / "scripts" / "sample-project", project)

    children: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    real_provider = bool(os.environ.get("KESTREL_PROVIDER") or os.environ.get("KESTREL_API_KEY"))
    simulator_url = None
    if real_provider:
        say("KESTREL_PROVIDER/KESTREL_API_KEY set: using the real provider from the environment")
    else:
        simulator, simulator_url = start_simulator()
        children.append(simulator)
        say(f"provider simulator at {simulator_url} (provider openai-compatible)")
    write_user_settings(user_data, simulator_url)

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
        say(
            "Open inventory.py, put the cursor in a function and press Ctrl+. for Kestrel's"
            " actions; F1 > 'Kestrel: Set API Key' stores a key. Ctrl+C stops."
        )
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
