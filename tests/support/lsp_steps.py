"""Shared moves of the end-to-end tests: a Kestrel session against the simulator, a simulator
that can hold its answers, raw requests, and applying an edit to a text."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import CANARY, Editor, editor

# Second and third canaries: keys that are not CANARY, for key changes and the environment.
CANARY_B = "sk-kestrel-canary-b-52c0e9a4d1f7"
CANARY_ENV = "sk-kestrel-canary-env-3e8b7a19c6d2"
CANARIES = (CANARY, CANARY_B, CANARY_ENV)

VSCODE = "visual-studio-code"
NEOVIM = "neovim@v0.7.0"
EMACS = "emacs"

DOCSTRING = "refactor.rewrite.kestrel.docstring"
SELECTION = "refactor.rewrite.kestrel.selection"
QUICKFIX = "quickfix.kestrel"
APPLY_COMMAND = "kestrel.applyAction"

# Backoff without waiting: the retry count, not the delay, is what these tests are about.
NO_BACKOFF = {"initialDelayMs": 0, "maxDelayMs": 1}

MISSING = "Kestrel: API key is missing or unset for deepseek."
# A rejection quotes the server's own message; this is the simulator's for a wrong key.
SIM_401_SAID = (
    ' The server said: "Authentication failed: the API key is missing, wrong, or expired"'
)
REJECTED_NEVER_WORKED = (
    "Kestrel: deepseek rejected your API key (HTTP 401). Check that the key is correct and active."
    + SIM_401_SAID
)
REJECTED_AFTER_RETRIES = (
    "Kestrel: deepseek rejected your API key (HTTP 401) \u2014 it worked earlier in this session, "
    "so this may be a transient auth/quota issue; retried 2 times with backoff and still failed. "
    "Try again shortly." + SIM_401_SAID
)


def key_id(key: str) -> str:
    """The simulator's log names a key by the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for name, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(name), dict):
            result[name] = merged(result[name], value)
        else:
            result[name] = value
    return result


def deepseek_at(url: str, key: str | None = CANARY, **extra: Any) -> dict[str, Any]:
    """initializationOptions for deepseek at the simulator: no backoff, no debounce."""
    init: dict[str, Any] = {
        "provider": "deepseek",
        "baseUrl": url,
        "retry": dict(NO_BACKOFF),
        "completion": {"debounceMs": 0},
    }
    if key is not None:
        init["apiKey"] = key
    return merged(init, extra)


def assert_no_secret(ed: Editor) -> None:
    written = "\n".join(ed.rec.server_output) + ed.rec.stderr.decode("utf-8", "replace")
    for canary in CANARIES:
        assert canary not in written, "an API key reached the server's output"
        assert canary[-12:] not in written, "part of an API key reached the server's output"


@asynccontextmanager
async def kestrel(
    sim: SimulatorServer,
    *,
    caps: str = VSCODE,
    key: str | None = CANARY,
    init: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    configuration: dict[str, Any] | None = None,
    apply_edits: bool = True,
    client_name: str | None = None,
) -> AsyncIterator[Editor]:
    """A session of the real server pointed at `sim`; on the way out, no key in its output."""
    options = deepseek_at(sim.url, key, **(init or {}))
    async with editor(
        caps=caps,
        init=options,
        env=env,
        configuration=configuration,
        apply_edits=apply_edits,
        client_name=client_name,
    ) as ed:
        yield ed
    assert_no_secret(ed)


def notices_starting(ed: Editor, start: str) -> list[tuple[int, str]]:
    return [(n.type, n.message) for n in ed.notices if n.message.startswith(start)]


def states(ed: Editor) -> list[str]:
    return [status["state"] for status in ed.rec.statuses]


async def jsonrpc_error(call: Awaitable[Any]) -> JsonRpcException:
    try:
        result = await call
    except JsonRpcException as exc:
        return exc
    raise AssertionError(f"expected a JSON-RPC error, got the result {result!r}")


def assert_one_line_error(error: JsonRpcException, code: int) -> None:
    assert error.code == code, f"{error.code}: {error.message}"
    assert error.message and "\n" not in error.message
    assert "Traceback" not in error.message
    assert error.data is None or "Traceback" not in str(error.data)


def raw_request(ed: Editor, method: str, params: Any, msg_id: str | None = None) -> Awaitable[Any]:
    """Send `params` as they are (no lsprotocol type, no pytest-lsp capability check)."""
    return asyncio.wrap_future(ed.client.protocol.send_request(method, params, msg_id=msg_id))


def raw_notify(ed: Editor, method: str, params: Any) -> None:
    ed.client.protocol.notify(method, params)


def typed_request(ed: Editor, method: str, params: Any, msg_id: str) -> asyncio.Future[Any]:
    """A request sent now (not when a task first runs), with an id the test can cancel."""
    return asyncio.wrap_future(ed.client.protocol.send_request(method, params, msg_id=msg_id))


def cancel(ed: Editor, msg_id: str) -> None:
    ed.client.cancel_request(types.CancelParams(id=msg_id))


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(line, character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )


def completion_params(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character)
    )


def the_edit(action: types.CodeAction | types.ApplyWorkspaceEditParams) -> types.TextDocumentEdit:
    edit = action.edit
    assert edit is not None and edit.document_changes and len(edit.document_changes) == 1
    assert edit.changes is None
    change = edit.document_changes[0]
    assert isinstance(change, types.TextDocumentEdit)
    return change


def assert_docstring_added(before: str, after: str, header: str = "def add(a, b):\n") -> None:
    """`after` is `before` with a docstring inside the definition `header` and nothing else
    changed (whatever the docstring says: that is the provider's part)."""
    head, found, rest = before.partition(header)
    assert found, f"{header!r} is not in the text"
    indent = rest[: len(rest) - len(rest.lstrip(" "))]
    assert after.startswith(head + header + indent + '"""'), after
    assert after.endswith(rest), after
    inserted = after[len(head + header) : len(after) - len(rest)]
    assert inserted.endswith('"""\n') and inserted.count('"""') == 2, inserted


def apply_text_edits(
    text: str,
    edits: Sequence[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit],
) -> str:
    """`text` after `edits`, which must be plain text edits (ASCII texts: LSP characters are
    str indices)."""
    plain = [e for e in edits if isinstance(e, types.TextEdit)]
    assert len(plain) == len(edits), edits
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        return sum(len(line) + 1 for line in lines[: position.line]) + position.character

    ordered = sorted(plain, key=lambda e: offset(e.range.start), reverse=True)
    for edit in ordered:
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class GatedSimulator(SimulatorServer):
    """The simulator, able to hold provider answers (`hold()` … `release()`) and to say when a
    request has arrived, so tests change things mid-request without racing a timer."""

    def __init__(self, script: Any = "ok") -> None:
        super().__init__(script)
        self._gate = asyncio.Event()
        self._gate.set()
        self._arrived = asyncio.Event()

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    async def wait_for_requests(self, count: int, timeout: float = 20) -> None:
        async def loop() -> None:
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(loop(), timeout)

    async def _respond(self, connection: Any, incoming: Any) -> bool:
        if incoming.path.startswith("/_sim/"):
            return await super()._respond(connection, incoming)
        answer, delay_s = self._provider_answer(incoming, connection.peer_port)
        self._arrived.set()
        await self._gate.wait()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        sent: bool = await connection.send(answer)
        return sent


async def settled(ed: Editor, pulls: int = 1) -> None:
    """Wait until the server has pulled `workspace/configuration` `pulls` times and applied it."""
    await ed.rec.wait_until(lambda: ed.rec.configuration_requests >= pulls)
    await ed.roundtrip()


async def ask_provider(ed: Editor, kind: str = DOCSTRING, **where: Any) -> Any:
    """Choose the action as the client would: resolve it, or run its command (no resolve
    support). Returns the resolved action, or the command's result."""
    action = await ed.action(kind, **where)
    if action.command is not None:
        command = action.command
        return await ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
        )
    return await ed.resolve(action)


class PromptRecorder(SimulatorServer):
    """The simulator, keeping each request's JSON body (its own log is key- and prompt-free)."""

    def __init__(self) -> None:
        super().__init__("ok")
        self.bodies: list[dict[str, Any]] = []

    def _provider_answer(self, incoming: Any, peer_port: int) -> Any:
        self.bodies.append(json.loads(incoming.body))
        return super()._provider_answer(incoming, peer_port)

    def fim(self) -> tuple[str, str]:
        """(prefix, suffix) of the last fill-in-the-middle request."""
        body = self.bodies[-1]
        return body["prompt"], body["suffix"]

    def chat_user_prompt(self) -> str:
        """The user message of the last chat request (OpenAI-compatible wire)."""
        content: str = self.bodies[-1]["messages"][-1]["content"]
        return content
