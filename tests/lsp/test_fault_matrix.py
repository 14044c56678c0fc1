"""The provider fault matrix: 12 faults × 3 key states through the real server over LSP.

Each cell starts the server (a subprocess) against the provider simulator over real HTTP, asks
for one explicit action (`codeAction/resolve`) while the simulator plays the fault, and checks:
success or exactly one notice with the SPEC's text and type; the exact number of provider
requests the retry policy allows (derived below from the SPEC's rules, not from the client's
code); the `kestrel/status` state; that the request ended (bounded by `asyncio.wait_for`, never a
wall-clock assertion); and that the server still answers afterwards. The retry delays are made
small through settings, so no cell waits for real backoff (only `Retry-After: 1` is honoured as
given, as the SPEC requires).

The matrix is printed at the end of the run (see `reliability_report`).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import RequestRecord, SimulatorServer, key_id

from lsp_harness import CANARY, Editor, editor
from reliability_report import KEY_STATES, REPORT, Cell

DOCSTRING = "refactor.rewrite.kestrel.docstring"
ERROR, WARNING = int(types.MessageType.Error), int(types.MessageType.Warning)
DASH = "\u2014"

MAX_RETRIES = 2
MAX_AUTH_RETRIES = 2
RETRY = {
    "maxRetries": MAX_RETRIES,
    "maxAuthRetries": MAX_AUTH_RETRIES,
    "initialDelayMs": 1,
    "maxDelayMs": 4,
}
STALL_TIMEOUT_MS = 400
CELL_TIMEOUT_S = 90  # a hang fails the cell; the cell's duration is never asserted
ALWAYS = 1_000_000  # a fault that never stops

MISSING = "Kestrel: API key is missing or unset for deepseek."


def rejected_never_worked(status: int) -> str:
    return (
        f"Kestrel: deepseek rejected your API key (HTTP {status}). "
        "Check that the key is correct and active."
    )


def rejected_after_retries(status: int, retries: int) -> str:
    return (
        f"Kestrel: deepseek rejected your API key (HTTP {status}) {DASH} it worked earlier in "
        "this session, so this may be a transient auth/quota issue; retried "
        f"{retries} times with backoff and still failed. Try again shortly."
    )


@dataclass(frozen=True)
class Fault:
    name: str
    script: dict[str, Any]
    # auth: 401/403 (known-good rule); retried: network errors, timeouts, 429, 5xx;
    # once: not retried (cut after output, unreadable 200)
    kind: Literal["auth", "retried", "once"]
    failures: int  # requests that fail before the simulator answers 200 (ALWAYS: never)
    status: int = 0
    notice: tuple[int, str] = (ERROR, "")
    contains: str = ""
    label: str = ""
    state: str = "ok"  # kestrel/status after the failure ("ok": unchanged)
    timeout_ms: int | None = None


def steps(*items: Any, then: Any = 200) -> dict[str, Any]:
    return {"steps": list(items), "then": then}


FAULTS = [
    Fault("401 ×1", steps(401), "auth", 1, status=401),
    Fault("401 ×2", steps(401, 401), "auth", 2, status=401),
    Fault("401 ×5", steps(*[401] * 5), "auth", 5, status=401),
    Fault("403 (always)", steps(then=403), "auth", ALWAYS, status=403),
    Fault(
        "429 Retry-After: 1 (always)",
        steps(then={"status": 429, "headers": {"Retry-After": "1"}}),
        "retried",
        ALWAYS,
        notice=(
            WARNING,
            f"Kestrel: deepseek is rate-limiting requests (HTTP 429); retried {MAX_RETRIES} times.",
        ),
        label="rate-limited warning",
        state="rateLimited",
    ),
    Fault(
        "500 (always)",
        steps(then=500),
        "retried",
        ALWAYS,
        notice=(ERROR, "Kestrel: deepseek answered HTTP 500: "),
        contains="The server had an error",
        label="HTTP 500 error",
    ),
    Fault(
        "502 HTML page (always)",
        steps(then={"status": 502, "fault": "html"}),
        "retried",
        ALWAYS,
        notice=(ERROR, "Kestrel: deepseek answered HTTP 502: 502 Bad Gateway"),
        label="HTTP 502 error",
    ),
    Fault("503 ×1", steps(503), "retried", 1),
    Fault(
        "connection reset (always)",
        steps(then={"fault": "reset"}),
        "retried",
        ALWAYS,
        notice=(ERROR, "Kestrel: cannot reach deepseek at {origin}: "),
        label="unreachable error",
        state="unreachable",
    ),
    Fault(
        f"read timeout: stall, {STALL_TIMEOUT_MS} ms timeout (always)",
        steps(then={"fault": "stall", "delay_ms": 30_000}),
        "retried",
        ALWAYS,
        notice=(ERROR, "Kestrel: cannot reach deepseek at {origin}: "),
        contains="timeout",
        label="unreachable (timeout) error",
        state="unreachable",
        timeout_ms=STALL_TIMEOUT_MS,
    ),
    Fault(
        "truncated SSE stream (always)",
        steps(then={"fault": "truncate"}),
        "once",
        ALWAYS,
        notice=(ERROR, "Kestrel: deepseek answered HTTP 200: "),
        contains="interrupted",
        label="interrupted error",
    ),
    Fault(
        "malformed JSON 200 (always)",
        steps(then={"fault": "garbage", "headers": {"Content-Type": "application/json"}}),
        "once",
        ALWAYS,
        notice=(ERROR, "Kestrel: deepseek answered HTTP 200: "),
        contains="could not be read",
        label="unreadable-reply error",
    ),
]


@dataclass(frozen=True)
class Expect:
    requests: int
    notice: tuple[int, str] | None  # None: success (an edit, no notice)
    label: str
    state: str
    contains: str = ""
    extra: list[str] = field(default_factory=list)


def expected(fault: Fault, key_state: str) -> Expect:
    """What the SPEC's rules allow for this cell."""
    if key_state == "missing":  # no key: no request at all, the notice each time
        return Expect(0, (ERROR, MISSING), "missing-key error", "missingKey")
    if fault.kind == "auth":
        if key_state == "never worked":  # a key that never worked gets exactly one request
            return Expect(
                1, (ERROR, rejected_never_worked(fault.status)), "rejected", "rejectedKey"
            )
        if fault.failures <= MAX_AUTH_RETRIES:  # known-good: retried, then it works
            return Expect(fault.failures + 1, None, "edit", "ok")
        return Expect(
            MAX_AUTH_RETRIES + 1,
            (ERROR, rejected_after_retries(fault.status, MAX_AUTH_RETRIES)),
            f"rejected after {MAX_AUTH_RETRIES} retries",
            "rejectedKey",
        )
    if fault.kind == "retried":  # the same for both key states: not an auth failure
        if fault.failures <= MAX_RETRIES:
            return Expect(fault.failures + 1, None, "edit", "ok")
        return Expect(MAX_RETRIES + 1, fault.notice, fault.label, fault.state, fault.contains)
    return Expect(1, fault.notice, fault.label, fault.state, fault.contains)


def test_the_matrix_is_twelve_faults_by_three_key_states() -> None:
    assert len(FAULTS) == 12 and len({f.name for f in FAULTS}) == 12
    assert KEY_STATES == ("missing", "never worked", "known-good")
    # Spot checks of the derivation against the SPEC's own examples.
    kg401x5 = expected(FAULTS[2], "known-good")
    assert kg401x5.requests == 3 and kg401x5.notice is not None
    assert "retried 2 times" in kg401x5.notice[1]
    assert expected(FAULTS[0], "never worked").requests == 1
    assert expected(FAULTS[4], "never worked").requests == 3  # 429 is retried for any key
    assert expected(FAULTS[0], "missing").requests == 0


@dataclass
class Observed:
    succeeded: bool
    edit_version: int | None
    notices: list[tuple[int, str]]
    requests: list[RequestRecord]
    state: str | None


async def explicit_action(ed: Editor, sim: SimulatorServer, fault: Fault) -> Observed:
    """One resolve while the simulator plays `fault`; the server must answer, then still answer."""
    if fault.timeout_ms is not None:
        await ed.change_settings({"kestrel": {"requestTimeoutMs": fault.timeout_ms}})
    sim.set_script(fault.script)  # also clears the request log
    action = await ed.action(DOCSTRING)  # answered after the settings change: the server is ordered
    before = len(ed.notices)

    resolved = await asyncio.wait_for(ed.resolve(action), CELL_TIMEOUT_S)

    # Still answering; anything the action sent arrived before this answer.
    assert await ed.actions(), "the server stopped answering code action requests"
    version = None
    if resolved.edit is not None and resolved.edit.document_changes:
        change = resolved.edit.document_changes[0]
        assert isinstance(change, types.TextDocumentEdit)
        version = change.text_document.version
    return Observed(
        succeeded=resolved.edit is not None,
        edit_version=version,
        notices=[(n.type, n.message) for n in ed.notices[before:]],
        requests=list(sim.requests),
        state=ed.rec.statuses[-1]["state"] if ed.rec.statuses else None,
    )


def problems(fault: Fault, key_state: str, seen: Observed, origin: str) -> list[str]:
    """What in this cell differs from the SPEC's rules (empty: the cell passes)."""
    want = expected(fault, key_state)
    out: list[str] = []
    statuses = [r["status"] for r in seen.requests]
    if len(seen.requests) != want.requests:
        out.append(f"{len(seen.requests)} provider requests {statuses}, allowed {want.requests}")
    if want.notice is None:
        if not seen.succeeded or seen.notices:
            out.append(f"expected an edit and no notice, got {seen.notices}")
        elif seen.edit_version != 1:
            out.append(f"the edit is for version {seen.edit_version}, not 1")
    else:
        kind, text = want.notice[0], want.notice[1].replace("{origin}", origin)
        if seen.succeeded:
            out.append("a failed action came back with an edit")
        if len(seen.notices) != 1:
            out.append(f"exactly one notice expected, got {seen.notices}")
        else:
            got_kind, message = seen.notices[0]
            if got_kind != kind or not message.startswith(text) or want.contains not in message:
                out.append(f"notice {seen.notices[0]}, expected type {kind} and {text!r}")
            if "\n" in message or "<" in message:
                out.append(f"the notice is not one plain line: {message!r}")
    if seen.state != want.state:
        out.append(f"kestrel/status is {seen.state}, expected {want.state}")
    if key_state != "missing" and {r["key_id"] for r in seen.requests} - {key_id(CANARY)}:
        out.append("a request went out without the configured key")
    if fault.kind == "auth" and key_state == "known-good":
        # Each retry after a 401/403 goes out on a new connection, never the pooled one.
        ports = [r["peer_port"] for r in seen.requests]
        if any(a == b for a, b in itertools.pairwise(ports)):
            out.append(f"an auth retry reused the connection that got the 401/403: {ports}")
    return out


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_fault_row(fault: Fault) -> None:
    """One server per fault, through the three key states in the order a user meets them:
    no key yet; a key is set (it has never worked); it works once (known-good)."""
    failures: dict[str, list[str]] = {}
    async with SimulatorServer("ok") as sim:
        origin = sim.url
        init = {"provider": "deepseek", "baseUrl": sim.url, "retry": RETRY}
        async with editor(init=init) as ed:
            ed.open()
            await ed.wait_for_notice(MISSING)
            for key_state in KEY_STATES:
                if key_state == "never worked":
                    await ed.change_settings({"kestrel": {"apiKey": CANARY}})
                if key_state == "known-good":
                    sim.set_script("ok")
                    await ed.change_settings({"kestrel": {"requestTimeoutMs": 30_000}})
                    primed = await ed.resolve(await ed.action(DOCSTRING))
                    assert primed.edit is not None, "the priming request should succeed"
                    assert [r["status"] for r in sim.requests] == [200]
                seen = await explicit_action(ed, sim, fault)
                found = problems(fault, key_state, seen, origin)
                want = expected(fault, key_state)
                outcome = "edit" if seen.succeeded else want.label if seen.notices else "nothing"
                REPORT.record_cell(
                    fault.name, key_state, Cell(not found, len(seen.requests), outcome)
                )
                if found:
                    failures[key_state] = found
        output = "".join(ed.rec.server_output) + ed.rec.stderr.decode("utf-8", "replace")
    assert not failures, failures
    assert CANARY not in output
