"""A real LiteLLM proxy on 127.0.0.1, run from its own virtualenv (`make gateway`), offline:
mocked models (`mock_response`), no database, keys judged by a `custom_auth` hook."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_steps import closed_port as free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = Path(__file__).resolve().parent / "gateway"
READY = "Uvicorn running on"
START_TIMEOUT_S = 300  # LiteLLM's imports alone take about a minute on a busy two-core machine


def gateway_venv() -> Path:
    return Path(os.environ.get("KESTREL_GATEWAY_VENV") or ROOT / ".venv-gateway").resolve()


def litellm_executable() -> Path | None:
    path = gateway_venv() / "bin" / "litellm"
    return path if path.exists() else None


@dataclass
class Gateway:
    url: str
    log_path: Path
    output: list[str] = field(default_factory=list)

    def requests(self) -> list[dict[str, Any]]:
        """One entry per request the custom_auth hook saw (the kind of key, never the key)."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def clear(self) -> None:
        self.log_path.write_text("", encoding="utf-8")


@contextmanager
def litellm_gateway(tmp: Path, *, good_key: str, budget_key: str) -> Iterator[Gateway]:
    executable = litellm_executable()
    assert executable is not None, "run `make gateway` first"
    port = free_port()
    log_path = tmp / "gateway-requests.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if "PROXY" not in k.upper()},
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_MASTER_KEY": "sk-gateway-master-" + secrets.token_hex(16),
        "KESTREL_GATEWAY_GOOD_KEY": good_key,
        "KESTREL_GATEWAY_BUDGET_KEY": budget_key,
        "KESTREL_GATEWAY_LOG": str(log_path),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [str(executable), "--config", "litellm_config.yaml", "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=CONFIG_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    gateway = Gateway(f"http://127.0.0.1:{port}", log_path)
    ready = threading.Event()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:  # drained to the end, so the proxy never blocks on a pipe
            gateway.output.append(line.rstrip())
            if READY in line:
                ready.set()
        ready.set()  # the process ended: stop waiting

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    try:
        ready.wait(START_TIMEOUT_S)
        if process.poll() is not None or not any(READY in line for line in gateway.output):
            tail = "\n".join(gateway.output[-30:])
            raise RuntimeError(f"the LiteLLM proxy did not start:\n{tail}")
        yield gateway
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(10)
