"""Soak: a bounded, loopback-only run of mixed editor traffic against one Kestrel server.

`make soak` (10 minutes) or `python bench/soak.py --minutes 2`. One server process (the canary
key, the VS Code-like capability set) talks to the provider simulator (a child process on
127.0.0.1) while this script plays an editor: typing bursts (didChange), inline completions,
code action listing and resolve, the command path, client cancels, settings changes, and every
`--phase-seconds` a new fault script on the simulator (flaky 401s, 5xx, HTML pages, resets,
stalls, truncated streams, garbage, rate limits, a rejected key, latency).

It reports requests served (by method), errors by kind (JSON-RPC codes, notices by kind),
provider requests by status, and the server's RSS after start-up, after the warm-up, at the end
and at its peak. It fails (exit 1) when a request is lost (no answer, or two), the server dies,
the canary key appears in any byte it writes, or RSS grows by 10% or more after the warm-up.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kestrel_lsp.simulator import SimulatorProcess
from lsp_wire import VSCODE_LIKE, RawServer, initialize

CANARY = "sk-kestrel-soak-canary-4f2a9c71e08b"
RSS_GROWTH_GOAL = 0.10
MAX_OUTSTANDING = 24
DRAIN_TIMEOUT_S = 90
DOCS = [f"file:///soak/module_{i}.py" for i in range(3)]

PHASES: list[tuple[str, Any]] = [
    ("ok", "ok"),
    ("mimo-flaky (transient 401s)", "mimo-flaky"),
    (
        "5xx and HTML pages",
        {"steps": [500, {"status": 502, "fault": "html"}, 503, 200, 200], "then": "cycle"},
    ),
    ("resets", {"steps": [{"fault": "reset"}, 200, 200], "then": "cycle"}),
    (
        "truncated streams",
        {
            "steps": [{"fault": "truncate"}, 200, {"fault": "truncate-before-output"}, 200],
            "then": "cycle",
        },
    ),
    ("garbage replies", {"steps": [{"fault": "garbage"}, 200, 200], "then": "cycle"}),
    (
        "rate limits (Retry-After: 1)",
        {"steps": [{"status": 429, "headers": {"Retry-After": "1"}}, 200, 200], "then": "cycle"},
    ),
    (
        "stalls (2 s timeout)",
        {"steps": [{"fault": "stall", "delay_ms": 30_000}, 200, 200, 200], "then": "cycle"},
    ),
    ("key rejected (401 always)", "reject-all"),
    ("slow provider (500 ms)", "slow500ms"),
]


def sample_module(n: int) -> str:
    parts = []
    for i in range(100):
        parts.append(
            f"def handler_{n}_{i}(request, retries=3):\n"
            f"    total = 0\n"
            f"    for attempt in range(retries):\n"
            f"        total += attempt * {i}\n"
            f"    return request, total\n\n"
        )
    return "".join(parts)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def notice_kind(message: str) -> str:
    for prefix, kind in (
        ("Kestrel: API key is missing", "missing key"),
        ("rejected your API key", "key rejected"),
        ("quota or balance", "quota exhausted"),
        ("is rate-limiting", "rate-limited"),
        ("Kestrel: cannot reach", "unreachable"),
        ("stream was interrupted", "stream interrupted"),
        ("could not be read", "unreadable reply"),
        ("answered HTTP", "provider error"),
        ("changed while the AI was working", "file changed (no edit)"),
    ):
        if prefix in message:
            return kind
    return "other: " + message[:60]


@dataclass
class Stats:
    sent: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    provider: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    unexpected: int = 0
    edits: int = 0
    canary_seen: int = 0
    messages_in: int = 0
    bytes_in: int = 0


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.stats = Stats()
        self.lock = threading.Lock()
        self.outstanding: dict[int, tuple[str, float]] = {}
        self.answered_ids: dict[int, tuple[str, Any]] = {}
        self.issued: set[int] = set()
        self.duplicate_examples: list[str] = []
        self.actions: list[dict[str, Any]] = []
        self.docs: dict[str, dict[str, Any]] = {}
        self.server: RawServer | None = None
        self.rss: list[tuple[float, int]] = []

    # -- the server's output ---------------------------------------------------------------

    def on_message(self, message: Any, body: bytes) -> None:
        with self.lock:
            stats = self.stats
            stats.messages_in += 1
            stats.bytes_in += len(body)
            if CANARY.encode() in body:
                stats.canary_seen += 1
            if not isinstance(message, dict):
                stats.unexpected += 1
                return
            method = message.get("method")
            if method == "window/showMessage":
                stats.notices[notice_kind(str(message["params"]["message"]))] += 1
                return
            if method == "kestrel/status":
                stats.statuses[str(message["params"]["state"])] += 1
                return
            if method is not None:
                return  # $/progress, or a server request the reader thread answers
            msg_id = message.get("id")
            if not isinstance(msg_id, int) or msg_id not in self.issued:
                if msg_id is None:
                    stats.unexpected += 1  # an error with id null: nothing sent should get one
                return  # initialize, shutdown: the driver's own
            sent = self.outstanding.pop(msg_id, None)
            if sent is None:
                if msg_id in self.answered_ids:
                    stats.duplicates += 1
                    first = self.answered_ids[msg_id]
                    self.duplicate_examples.append(
                        f"{first[0]} {msg_id}: first {json.dumps(first[1])[:200]}, "
                        f"then {json.dumps(message)[:200]}"
                    )
                else:
                    stats.unexpected += 1
                return
            self.answered_ids[msg_id] = (sent[0], message)
            sent_method = sent[0]
            stats.answered[sent_method] += 1
            if "error" in message:
                stats.errors[f"{sent_method}: {message['error']['code']}"] += 1
                return
            result = message.get("result")
            stats.results[sent_method] += 1
            if sent_method == "textDocument/codeAction" and isinstance(result, list):
                self.actions = [a for a in result if isinstance(a, dict) and "data" in a]
            if (
                sent_method == "codeAction/resolve"
                and isinstance(result, dict)
                and result.get("edit")
            ):
                stats.edits += 1

    # -- sending -----------------------------------------------------------------------------

    def request(self, method: str, params: Any) -> int:
        assert self.server is not None
        server = self.server
        server.wait_for(lambda: len(self.outstanding) < MAX_OUTSTANDING, DRAIN_TIMEOUT_S)
        msg_id = server.new_id()
        with self.lock:
            self.issued.add(msg_id)
            self.outstanding[msg_id] = (method, time.monotonic())
            self.stats.sent[method] += 1
        server.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def notify(self, method: str, params: Any) -> None:
        assert self.server is not None
        with self.lock:
            self.stats.sent[method] += 1
        self.server.notify(method, params)

    def type_burst(self, uri: str) -> tuple[int, int]:
        """Undo the previous burst on this document, then type a few characters."""
        doc = self.docs[uri]
        line, typed = doc["line"], doc["typed"]
        if typed:
            doc["version"] += 1
            self.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": doc["version"]},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": line, "character": 0},
                                "end": {"line": line, "character": typed},
                            },
                            "text": "",
                        }
                    ],
                },
            )
        line = self.rng.randrange(0, 590)
        count = self.rng.randint(1, 8)
        for i in range(count):
            doc["version"] += 1
            self.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": doc["version"]},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": line, "character": i},
                                "end": {"line": line, "character": i},
                            },
                            "text": self.rng.choice("abcxyz_ ("),
                        }
                    ],
                },
            )
        doc["line"], doc["typed"] = line, count
        return line, count

    def step(self) -> None:
        uri = self.rng.choice(DOCS)
        roll = self.rng.random()
        if roll < 0.40:
            line, column = self.type_burst(uri)
            position = {"line": line, "character": column}
            completion = self.request(
                "textDocument/inlineCompletion",
                {"textDocument": {"uri": uri}, "position": position, "context": {"triggerKind": 2}},
            )
            if self.rng.random() < 0.15:  # the user moved on: the client cancels
                self.notify("$/cancelRequest", {"id": completion})
        elif roll < 0.60:
            line = self.rng.randrange(0, 590)
            self.request(
                "textDocument/codeAction",
                {
                    "textDocument": {"uri": uri},
                    "range": {
                        "start": {"line": line, "character": 0},
                        "end": {"line": line + 3, "character": 0},
                    },
                    "context": {"diagnostics": []},
                },
            )
        elif roll < 0.85 and self.actions:
            action = self.rng.choice(self.actions)
            if self.rng.random() < 0.7:
                self.request("codeAction/resolve", action)
            else:
                self.request(
                    "workspace/executeCommand",
                    {"command": "kestrel.applyAction", "arguments": [action["data"]]},
                )
        elif roll < 0.95:
            self.request(
                "textDocument/completion",
                {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}},
            )
        else:
            debounce = self.rng.choice([20, 50, 150])
            self.notify(
                "workspace/didChangeConfiguration",
                {"settings": {"kestrel": {"completion": {"debounceMs": debounce}}}},
            )

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> int:
        args = self.args
        with SimulatorProcess("ok") as sim, RawServer(on_message=self.on_message) as server:
            self.server = server
            init = {
                "provider": "deepseek",
                "baseUrl": sim.url,
                "apiKey": CANARY,
                "retry": {"maxRetries": 2, "initialDelayMs": 20, "maxDelayMs": 200},
                "requestTimeoutMs": 2000,
                "completion": {"debounceMs": 50},
            }
            print(f"soak: server pid {server.pid}, simulator {sim.url}", file=sys.stderr)
            initialize(server, init=init, capabilities=VSCODE_LIKE, timeout=180)
            for n, uri in enumerate(DOCS):
                self.docs[uri] = {"version": 1, "line": 0, "typed": 0}
                server.notify(
                    "textDocument/didOpen",
                    {
                        "textDocument": {
                            "uri": uri,
                            "languageId": "python",
                            "version": 1,
                            "text": sample_module(n),
                        }
                    },
                )
            server.request_wait("kestrel/ready", {})
            rss_after_init = rss_kib(server.pid)
            server.record = False  # from here on, only on_message sees the output

            start = time.monotonic()
            deadline = start + args.minutes * 60
            warmup_end = start + min(30.0, args.minutes * 60 * 0.1)
            rss_start: int | None = None
            next_sample = start
            phase_index = -1
            next_phase = start
            interval = 1.0 / args.rate
            next_op = start
            while (now := time.monotonic()) < deadline:
                if server.returncode is not None:
                    print(f"the server exited with {server.returncode}", file=sys.stderr)
                    break
                if now >= next_phase:
                    self.collect_provider_log(sim)
                    phase_index = (phase_index + 1) % len(PHASES)
                    name, script = PHASES[phase_index]
                    sim.set_script(script)
                    self.stats.phases[name] += 1
                    next_phase = now + args.phase_seconds
                if now >= next_sample:
                    rss = rss_kib(server.pid)
                    self.rss.append((now - start, rss))
                    if rss_start is None and now >= warmup_end:
                        rss_start = rss
                    next_sample = now + 5
                self.step()
                next_op += interval
                pause = next_op - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # pacing an editor's traffic, not synchronisation
                else:
                    next_op = time.monotonic()

            self.collect_provider_log(sim)
            drained = server.wait_for(lambda: not self.outstanding, DRAIN_TIMEOUT_S)
            rss_end = rss_kib(server.pid)
            server.record = True
            exit_code = server.shutdown()
            stderr = bytes(server.received.stderr)
        return self.report(
            drained=drained,
            rss_after_init=rss_after_init,
            rss_start=rss_start or rss_after_init,
            rss_end=rss_end,
            exit_code=exit_code,
            canary_in_stderr=CANARY.encode() in stderr,
            elapsed=time.monotonic() - start,
        )

    def collect_provider_log(self, sim: SimulatorProcess) -> None:
        for entry in sim.requests():
            self.stats.provider[str(entry["status"])] += 1

    def report(
        self,
        *,
        drained: bool,
        rss_after_init: int,
        rss_start: int,
        rss_end: int,
        exit_code: int | None,
        canary_in_stderr: bool,
        elapsed: float,
    ) -> int:
        s = self.stats
        requests_sent = sum(v for k, v in s.sent.items() if k in s.answered or k in _REQUESTS)
        answered = sum(s.answered.values())
        lost = len(self.outstanding)
        peak = max([r for _, r in self.rss] + [rss_end])
        growth = (rss_end - rss_start) / rss_start
        figures = {
            "minutes": round(elapsed / 60, 2),
            "requests_sent": requests_sent,
            "requests_answered": answered,
            "requests_lost": lost,
            "duplicate_answers": s.duplicates,
            "notifications_sent": sum(s.sent.values()) - requests_sent,
            "by_method": {
                m: {"sent": s.sent[m], "results": s.results[m]} for m in sorted(_REQUESTS)
            },
            "edits_returned": s.edits,
            "errors_by_kind": dict(sorted(s.errors.items())),
            "notices_by_kind": dict(sorted(s.notices.items())),
            "status_changes": dict(sorted(s.statuses.items())),
            "provider_requests_by_status": dict(sorted(s.provider.items())),
            "fault_phases": dict(s.phases),
            "rss_kib": {
                "after_initialize": rss_after_init,
                "after_warmup": rss_start,
                "end": rss_end,
                "peak": peak,
                "growth_after_warmup_pct": round(growth * 100, 1),
                "samples_every_30s": [r for t, r in self.rss if int(t) % 30 < 5],
            },
            "server_exit_code": exit_code,
            "canary_in_output": s.canary_seen + int(canary_in_stderr),
        }
        print(json.dumps(figures, indent=2))
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(figures, indent=2) + "\n")
        problems = []
        if lost or not drained:
            problems.append(f"{lost} requests never answered")
        if s.duplicates:
            examples = self.duplicate_examples[:3]
            problems.append(f"{s.duplicates} requests answered twice: {examples}")
        if s.unexpected:
            problems.append(f"{s.unexpected} answers to ids never sent")
        if exit_code != 0:
            problems.append(f"the server exited with {exit_code}")
        if figures["canary_in_output"]:
            problems.append("the canary key appeared in the server's output")
        if growth >= RSS_GROWTH_GOAL:
            problems.append(f"RSS grew {growth:.1%} after the warm-up (goal < 10%)")
        for problem in problems:
            print("SOAK FAILED:", problem, file=sys.stderr)
        return 1 if problems else 0


_REQUESTS = (
    "textDocument/inlineCompletion",
    "textDocument/completion",
    "textDocument/codeAction",
    "codeAction/resolve",
    "workspace/executeCommand",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    parser.add_argument("--rate", type=float, default=25.0, help="editor operations per second")
    parser.add_argument(
        "--phase-seconds", type=float, default=15.0, help="seconds per fault script"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--json", help="also write the figures to this file")
    return Soak(parser.parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
