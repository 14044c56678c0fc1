"""Protocol fuzzing: hypothesis generates batches of well-framed messages (invalid JSON, wrong
param types, unknown methods, out-of-range positions, unknown URIs, huge and binary documents,
cancel storms, didChange for closed documents, garbage ids, ...) sent through a raw framed
writer to two long-lived server processes (no key; a key and a provider):

- every request gets exactly one answer, a result or the right JSON-RPC error (−32602 invalid
  params, −32601 unknown method, −32600 invalid request; a body that is not JSON gets −32700 with
  id null), and no answer goes to an id that was not a request;
- no `window/showMessage` other than Kestrel's own notices, no `showMessageRequest`;
- an error's message is one line, and its `data` carries no traceback;
- the process stays up, answers a final request and exits cleanly on shutdown/exit;
- the canary key never appears in a byte the server writes.

At least 10,000 messages per run (asserted), counts printed at the end of the run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kestrel_lsp.simulator import SimulatorProcess
from lsp_wire import PLAIN, VSCODE_LIKE, RawServer, initialize

from fuzz_model import (
    APPLY,
    INTERNAL_ERROR,
    KINDS,
    KNOWN_NOTIFICATIONS,
    KNOWN_REQUESTS,
    RESULT,
    SELECTION,
    ActionRequest,
    BadEnvelope,
    CancelStorm,
    Change,
    Close,
    CodeActionRequest,
    CompletionRequest,
    GarbageId,
    Model,
    Nested,
    NotAnObject,
    NotJson,
    OddId,
    Open,
    Operation,
    Probe,
    Sent,
    Settings,
    StrayResponse,
    UnknownMethod,
    WrongParams,
)
from lsp_harness import CANARY
from reliability_report import REPORT

MIN_MESSAGES_PER_RUN = 10_000
BATCH_TIMEOUT_S = 60  # every answer of a batch must arrive; a hang fails the test

URIS = ["file:///fuzz/a.py", "file:///fuzz/b.ts", "file:///fuzz/%F0%9F%90%8D.py", "untitled:1"]
UNKNOWN_URIS = ["file:///never/opened.py", "", "not a uri", "file:///fuzz/a.py?x#y"]
SERVER_REQUESTS = {
    "workspace/configuration",
    "window/workDoneProgress/create",
    "workspace/applyEdit",
    "client/registerCapability",
}
SERVER_NOTIFICATIONS = {"window/showMessage", "kestrel/status", "$/progress"}
RESERVED = {
    "initialize",
    "initialized",
    "shutdown",
    "exit",
    "$/cancelRequest",
    "$/setTrace",
    "$/progress",
    "window/workDoneProgress/cancel",
    "workspace/didChangeWorkspaceFolders",
    "workspace/didChangeConfiguration",
    *KNOWN_REQUESTS,
    *KNOWN_NOTIFICATIONS,
}


# -- strategies -------------------------------------------------------------------------------


def huge_text(lines: int) -> str:
    return "".join(f"def f{i}(x):  # é 😀 line {i}\n    return x\r\n" for i in range(lines // 2))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
lone_surrogates = st.integers(0xD800, 0xDFFF).map(chr)
texts = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab \t\r\n😀é\x00")), max_size=30),
    st.text(alphabet=st.sampled_from(list("ab\r\n")), max_size=12),
    st.text(max_size=40),
    st.lists(st.one_of(lone_surrogates, st.sampled_from(list("ab\r\n"))), max_size=10).map("".join),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
)
doc_texts = st.one_of(
    texts,
    texts,
    texts,
    st.just("def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"),
    st.integers(2_000, 40_000).map(huge_text).filter(lambda _: True),
)
uris = st.one_of(*[st.sampled_from(URIS)] * 4, st.sampled_from(UNKNOWN_URIS))
small = st.integers(0, 5)
positions = st.one_of(
    *[st.tuples(small, st.integers(0, 12))] * 4,
    st.tuples(st.integers(0, 60_000), st.integers(0, 3)),  # often past the end
    st.tuples(st.integers(-3, -1), small),  # does not structure
    st.tuples(small, st.integers(2**31, 2**40)),  # does not structure
)
versions = st.integers(-(2**31), 2**31 - 1) | st.integers(0, 50)


line_breaks = st.sampled_from(["\n", "\r", "\r\n", "\nab", "ab\r", "", "x"])


@st.composite
def changes(draw: st.DrawFn) -> Change:
    items: list[tuple[tuple[int, int, int, int] | None, str]] = []
    for _ in range(draw(st.integers(1, 3))):
        choice = draw(st.integers(0, 9))
        if choice == 0:
            items.append((None, draw(texts)))
        elif choice <= 3:  # line breaks at a line's start or end: CR, LF and CRLF joins
            line = draw(small)
            character = draw(st.sampled_from([0, 1, 2]))
            items.append(
                ((line, character, line, character + draw(st.integers(0, 1))), draw(line_breaks))
            )
        else:
            (sl, sc), (el, ec) = draw(positions), draw(positions)
            items.append(((sl, sc, el, ec), draw(texts)))
    return Change(draw(uris), draw(versions), items)


wrong_params = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(
        st.sampled_from(["textDocument", "position", "range", "context", "title", "arguments"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.lists(st.integers(), max_size=2)),
        max_size=3,
    ),
)
unknown_methods = st.one_of(
    st.sampled_from(
        ["kestrel/unknown", "textDocument/hover", "textDocument/definition", "$/fuzz", "", APPLY]
    ),
    st.text(max_size=20),
).filter(lambda m: m not in RESERVED)
garbage_ids = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    st.booleans(),
    st.none(),
    st.dictionaries(st.text(max_size=3), scalars, max_size=2),
    st.lists(scalars, max_size=2),
)
not_json = st.one_of(
    st.binary(min_size=1, max_size=60),
    st.sampled_from(
        [b"{", b"{]", b"not json", b'{"jsonrpc": "2.0", "id": 1,', b"\xff\xfe{}", b"nul"]
    ),
    st.text(min_size=1, max_size=40).map(lambda t: ("{" + t).encode()),
).filter(lambda b: _not_json(b))
inner_rpc = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0")},
    optional={
        "id": st.integers(9_000_000, 9_000_100),
        "method": st.sampled_from(["textDocument/codeAction", "kestrel/x", "exit", "shutdown"]),
        "params": scalars,
        "result": scalars,
    },
)


def _not_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


operations: st.SearchStrategy[Operation] = st.one_of(
    st.builds(Open, uri=st.sampled_from(URIS), text=doc_texts, version=versions),
    changes(),
    changes(),
    st.builds(Close, uri=uris),
    st.builds(
        CodeActionRequest, uri=uris, start=positions, end=positions, diagnostics=st.booleans()
    ),
    st.builds(
        CodeActionRequest, uri=uris, start=positions, end=positions, diagnostics=st.booleans()
    ),
    *[st.builds(Probe, uri=st.sampled_from(URIS), line_pick=st.integers(0, 10_000))] * 3,
    st.builds(CompletionRequest, inline=st.booleans(), uri=uris, position=positions),
    st.builds(
        ActionRequest,
        via_command=st.booleans(),
        uri=uris,
        kind=st.sampled_from(KINDS),
        lines=st.tuples(st.integers(-2, 6), st.integers(-2, 8)),
        stale=st.booleans(),
        garbage=st.none() | st.none() | json_values.filter(lambda v: v is not None),
    ),
    st.builds(
        WrongParams,
        method=st.sampled_from(KNOWN_REQUESTS + KNOWN_NOTIFICATIONS),
        params=wrong_params,
    ),
    st.builds(
        UnknownMethod,
        method=unknown_methods,
        params=json_values,
        has_params=st.booleans(),
        is_notification=st.booleans(),
    ),
    st.builds(NotJson, body=not_json),
    st.builds(NotAnObject, value=st.one_of(scalars, st.lists(json_values, max_size=3))),
    st.builds(
        GarbageId, msg_id=garbage_ids, method=st.sampled_from(["kestrel/x", *KNOWN_REQUESTS])
    ),
    st.builds(
        OddId, flavor=st.sampled_from(["huge", "negative", "string"]), text=st.text(max_size=8)
    ),
    st.builds(
        BadEnvelope,
        jsonrpc=st.sampled_from(["absent", "1.0", 2.0, None, "2"]),
        method=st.sampled_from(["kestrel/x", "textDocument/codeAction"]),
    )
    | st.builds(
        BadEnvelope,
        jsonrpc=st.just("2.0"),
        method=st.one_of(st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
    ),
    st.builds(
        Nested, inner=inner_rpc, method=st.sampled_from(["kestrel/x", "textDocument/codeAction"])
    ),
    st.builds(
        StrayResponse,
        msg_id=st.integers(5_000_000, 6_000_000) | st.text(max_size=5),
        error=st.booleans(),
    ),
    st.builds(
        CancelStorm,
        recent=st.integers(0, 12),
        unknown=st.lists(st.integers(7_000_000, 8_000_000) | st.text(max_size=4), max_size=5),
        garbage=st.lists(garbage_ids, max_size=3),
    ),
    st.builds(
        Settings,
        kestrel=st.one_of(
            scalars,
            st.fixed_dictionaries(
                {},
                optional={
                    "completion": st.one_of(
                        scalars,
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "debounceMs": st.sampled_from(["fast", 1.5, -1, None]),
                                "enabled": st.sampled_from(["false", 0, None]),
                            },
                        ),
                    ),
                    "retry": st.one_of(
                        scalars,
                        st.fixed_dictionaries(
                            {}, optional={"maxRetries": st.sampled_from(["2", 2.5, -1])}
                        ),
                    ),
                },
            ),
        ),
    ),
)
batches = st.lists(operations, min_size=40, max_size=90)


# -- one server under fuzz --------------------------------------------------------------------


@dataclass
class Fuzzed:
    name: str
    server: RawServer
    model: Model
    counts: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    sim: SimulatorProcess | None = None

    def run_batch(self, ops: list[Operation]) -> None:
        sent: list[Sent] = [s for op in ops for s in op.messages(self.model)]
        sentinel_id = self.model.new_id()
        sentinel = Sent(
            json.dumps(
                {"jsonrpc": "2.0", "id": sentinel_id, "method": "kestrel/fuzzSentinel"}
            ).encode(),
            "sentinel",
            sentinel_id,
            frozenset({-32601}),
        )
        sent.append(sentinel)
        server = self.server
        first_message = len(server.received.messages)
        server.send_many(s.body for s in sent)
        for s in sent:
            self.counts["messages"] += 1
            self.counts[f"kind:{s.kind}"] += 1
            if s.request_id is not None:
                self.counts["requests"] += 1
            elif s.null_id_code is not None:
                self.counts["non_json" if s.null_id_code == -32700 else "requests"] += 1
            else:
                self.counts["notifications"] += 1

        requests = [s for s in sent if s.request_id is not None]
        all_answered = server.wait_for(
            lambda: all(server.responses(s.request_id) for s in requests), BATCH_TIMEOUT_S
        )
        problems: list[str] = []
        if not all_answered:
            missing = [
                (s.kind, s.request_id) for s in requests if not server.responses(s.request_id)
            ]
            problems.append(f"no answer within {BATCH_TIMEOUT_S} s to {missing[:10]}")
        for s in requests:
            answers = server.responses(s.request_id)
            if len(answers) > 1:
                problems.append(f"{len(answers)} answers to {s.kind} {s.request_id!r}: {answers}")
            for answer in answers[:1]:
                code = answer["error"]["code"] if "error" in answer else RESULT
                self.answers[str(code) if code else "result"] += 1
                if code not in s.allowed:
                    problems.append(
                        f"{s.kind} {s.request_id!r} answered {code}, allowed {sorted(s.allowed)}: "
                        f"{json.dumps(answer)[:300]} <- {s.body[:300]!r}"
                    )
                elif code == RESULT and s.selection is not None:
                    kinds = [action.get("kind") for action in answer.get("result") or []]
                    if (SELECTION in kinds) != s.selection:
                        problems.append(
                            f"{s.kind} {s.request_id!r}: rewrite offered {SELECTION in kinds}, "
                            f"the model says {s.selection}: {s.body[:300]!r}; the model's "
                            f"text: {self._model_text(s.body)[:300]!r}"
                        )
        new = server.received.messages[first_message:]
        problems += self._check_messages(new, sent, {s.request_id for s in requests})
        if server.returncode is not None:
            problems.append(f"the server exited with {server.returncode}")
        if problems:
            self.failures += problems
            raise AssertionError("\n".join(problems[:20]))

    def _model_text(self, body: bytes) -> str:
        uri = json.loads(body)["params"]["textDocument"]["uri"]
        doc = self.model.docs.get(uri)
        return doc.text if doc else "(not open)"

    def _check_messages(self, new: list[Any], sent: list[Sent], request_ids: set[Any]) -> list[str]:
        problems: list[str] = []
        keys = {json.dumps(i, sort_keys=True) for i in request_ids}
        null_due = Counter(s.null_id_code for s in sent if s.null_id_code is not None)
        null_seen: Counter[int | None] = Counter()
        for message in new:
            if not isinstance(message, dict):
                problems.append(f"not an object: {message!r}")
                continue
            method = message.get("method")
            if method is not None and "id" in message:
                if method not in SERVER_REQUESTS:
                    problems.append(f"unexpected server request {method}")
                continue
            if method is not None:
                if method not in SERVER_NOTIFICATIONS:
                    problems.append(f"unexpected notification {method}: {message}")
                if method == "window/showMessage" and not str(
                    message.get("params", {}).get("message", "")
                ).startswith("Kestrel: "):
                    problems.append(f"a popup that is not Kestrel's own notice: {message}")
                continue
            if "id" not in message:
                problems.append(f"an answer without an id member: {message}")
                continue
            error = message.get("error")
            if error is not None:
                text = str(error.get("message", ""))
                if (
                    "\n" in text
                    or "Traceback" in text
                    or "Traceback" in json.dumps(error.get("data"))
                ):
                    problems.append(
                        f"an error that is not one line or carries a traceback: {error}"
                    )
                if error.get("code") == INTERNAL_ERROR:
                    problems.append(f"an internal error (an unhandled exception): {message}")
            if message["id"] is None:
                code = error.get("code") if error else None
                null_seen[code] += 1
                self.answers[f"{code} (id null)"] += 1
            elif json.dumps(message["id"], sort_keys=True) not in keys:
                problems.append(f"an answer to an id that was not a request: {message}")
        if null_seen != null_due:
            problems.append(f"answers with id null {dict(null_seen)}, due {dict(null_due)}")
        return problems


def start_fuzzed(name: str, init: dict[str, Any], capabilities: Any) -> Fuzzed:
    server = RawServer().start()
    initialize(server, init=init, capabilities=capabilities)
    model = Model(caps_inline="inlineCompletion" in capabilities.get("textDocument", {}))
    model.next_id = 1_000  # above the ids the raw client used for initialize
    return Fuzzed(name, server, model)


def finish(fuzzed: Fuzzed) -> None:
    server = fuzzed.server
    final = server.request_wait(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": "file:///never/opened.py"},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []},
        },
    )
    assert final["error"]["code"] == -32602, final  # still answering, with the right error
    code = server.shutdown()
    assert code == 0, f"exit code {code} after shutdown/exit"
    assert not server.received.frame_errors, server.received.frame_errors
    written = bytes(server.received.stdout) + bytes(server.received.stderr)
    assert CANARY.encode() not in written
    REPORT.fuzz.update(fuzzed.counts)
    REPORT.fuzz.update({f"answer:{k}": v for k, v in fuzzed.answers.items()})
    run = f"{fuzzed.name}: {fuzzed.counts['messages']} messages"
    if fuzzed.sim is not None:
        run += f", {len(fuzzed.sim.requests())} provider requests"
    REPORT.fuzz_runs.append(run)


FUZZ_SETTINGS = settings(
    max_examples=90,
    deadline=None,
    database=None,
    # The server is stateful and long-lived: a shrunk replay meets another state, so shrinking
    # is slow and little use. A failure prints the batch's problems with the messages sent.
    phases=(Phase.explicit, Phase.generate),
    report_multiple_bugs=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@pytest.fixture(scope="module")
def no_key() -> Iterator[Fuzzed]:
    fuzzed = start_fuzzed("no key, VS Code-like client", {"provider": "deepseek"}, VSCODE_LIKE)
    yield fuzzed
    fuzzed.server.kill()


@pytest.fixture(scope="module")
def with_key() -> Iterator[Fuzzed]:
    with SimulatorProcess("ok") as sim:
        init = {
            "provider": "deepseek",
            "baseUrl": sim.url,
            "apiKey": CANARY,
            "completion": {"debounceMs": 0},
            "retry": {"initialDelayMs": 1, "maxDelayMs": 2},
        }
        fuzzed = start_fuzzed("canary key + simulator, client without resolve", init, PLAIN)
        fuzzed.sim = sim
        yield fuzzed
        fuzzed.server.kill()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@FUZZ_SETTINGS
@given(batch=batches)
def test_fuzz_without_key(no_key: Fuzzed, batch: list[Operation]) -> None:
    no_key.run_batch(batch)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
@FUZZ_SETTINGS
@given(batch=batches)
def test_fuzz_with_key_and_provider(with_key: Fuzzed, batch: list[Operation]) -> None:
    with_key.run_batch(batch)


def test_fuzzed_servers_still_answer_and_exit_cleanly(no_key: Fuzzed, with_key: Fuzzed) -> None:
    for fuzzed in (no_key, with_key):
        finish(fuzzed)
    total = no_key.counts["messages"] + with_key.counts["messages"]
    assert total >= MIN_MESSAGES_PER_RUN, f"only {total} messages fuzzed"
