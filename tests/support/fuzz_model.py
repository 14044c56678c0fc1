"""The fuzzer's messages and its model of the server, for `test_fuzz_protocol.py`.

Every generated operation becomes one or more well-framed message bodies, each with what the
SPEC allows in answer. The model keeps its own copy of every open document (text, version)
so it can clamp a position to the document as LSP 3.17 says (past a line's end: that end; past
the last line: the document's end), independently of the server's line store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
INTERNAL_ERROR, CANCELLED = -32603, -32800
RESULT = 0  # "a result", in the sets of allowed answers

UINT_MAX = 2**31 - 1
ASYNC_METHODS = frozenset(
    {
        "textDocument/completion",
        "textDocument/inlineCompletion",
        "codeAction/resolve",
        "workspace/executeCommand",
    }
)
KINDS = (
    "quickfix.kestrel",
    "refactor.rewrite.kestrel.docstring",
    "refactor.rewrite.kestrel.selection",
)
SELECTION = "refactor.rewrite.kestrel.selection"
APPLY = "kestrel.applyAction"


# -- the model's own line splitting: LSP line endings only (\n, \r\n, \r) --------------------

_BREAK = re.compile(r"\r\n|\r|\n")


def as_decoded(text: str) -> str:
    """`text` as the server reads it from JSON: a high and a low surrogate escaped side by side
    (hypothesis makes them apart) decode to one astral character, two UTF-16 units wide."""
    decoded: str = json.loads(json.dumps(text))
    return decoded


def line_bodies(text: str) -> list[str]:
    return _BREAK.split(text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_to_index(body: str, units: int) -> int:
    """The str index of a UTF-16 offset; an offset inside a surrogate pair rounds up."""
    count = 0
    for index, char in enumerate(body):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(body)


@dataclass
class ModelDoc:
    text: str
    version: int
    _bodies: list[str] | None = field(default=None, repr=False)

    @property
    def bodies(self) -> list[str]:
        if self._bodies is None:
            self._bodies = line_bodies(self.text)
        return self._bodies

    def offset(self, line: int, character: int) -> int:
        """Index into `text` of a position (non-negative), clamped as LSP says."""
        if line >= len(self.bodies):
            return len(self.text)
        index = 0
        for match_count, match in enumerate(_BREAK.finditer(self.text)):
            if match_count == line:
                break
            index = match.end()
        body = self.bodies[line]
        return index + utf16_to_index(body, character)

    def replace(self, start: int, end: int, new_text: str) -> None:
        self.text = self.text[:start] + new_text + self.text[end:]
        self._bodies = None


@dataclass
class Model:
    docs: dict[str, ModelDoc] = field(default_factory=dict)
    caps_inline: bool = True  # the client declared inlineCompletion
    next_id: int = 0

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


# -- what one message is expected to get -----------------------------------------------------


@dataclass
class Sent:
    body: bytes
    kind: str
    request_id: Any = None  # set for a request that must be answered with this id
    allowed: frozenset[int] = frozenset()  # RESULT or error codes
    null_id_code: int | None = None  # an answer with id null is due (parse/invalid request)
    # For code actions: whether "Rewrite selection" must be offered (None: not checked).
    selection: bool | None = None


def _dump(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def request(
    model: Model, kind: str, method: Any, params: Any, allowed: set[int], *, has_params: bool = True
) -> Sent:
    msg_id = model.new_id()
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if has_params:
        message["params"] = params
    if isinstance(method, str) and method in ASYNC_METHODS:
        allowed = allowed | {CANCELLED}  # our own cancel storms may reach it first
    return Sent(_dump(message), kind, msg_id, frozenset(allowed))


def notification(kind: str, method: str, params: Any) -> Sent:
    return Sent(_dump({"jsonrpc": "2.0", "method": method, "params": params}), kind)


def _pos(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


def _valid_uint(*values: int) -> bool:
    return all(0 <= v <= UINT_MAX for v in values)


# -- operations ------------------------------------------------------------------------------


@dataclass
class Open:
    uri: str
    text: str
    version: int
    language: str = "python"

    def messages(self, model: Model) -> Iterator[Sent]:
        yield notification(
            "didOpen (huge)" if len(self.text) > 100_000 else "didOpen",
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": self.uri,
                    "languageId": self.language,
                    "version": self.version,
                    "text": self.text,
                }
            },
        )
        model.docs[self.uri] = ModelDoc(as_decoded(self.text), self.version)


@dataclass
class Change:
    uri: str
    version: int
    # (start line, start char, end line, end char) or None for a whole-text change
    changes: list[tuple[tuple[int, int, int, int] | None, str]]

    def messages(self, model: Model) -> Iterator[Sent]:
        content: list[dict[str, Any]] = []
        for rng, text in self.changes:
            if rng is None:
                content.append({"text": text})
            else:
                sl, sc, el, ec = rng
                content.append(
                    {"range": {"start": _pos(sl, sc), "end": _pos(el, ec)}, "text": text}
                )
        yield notification(
            "didChange",
            "textDocument/didChange",
            {"textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": content},
        )
        self._apply(model)

    def _apply(self, model: Model) -> None:
        doc = model.docs.get(self.uri)
        if doc is None:
            return  # a change for a closed document is dropped
        if not all(rng is None or _valid_uint(*rng) for rng, _ in self.changes):
            return  # params that do not structure: the whole notification is dropped
        for rng, text in self.changes:
            if rng is None:
                doc.text, doc._bodies = as_decoded(text), None
                continue
            sl, sc, el, ec = rng
            start, end = doc.offset(sl, sc), doc.offset(el, ec)
            if end < start:
                doc.version = -1  # the server marks its copy stale and stops
                return
            doc.replace(start, end, as_decoded(text))
        doc.version = self.version


@dataclass
class Close:
    uri: str

    def messages(self, model: Model) -> Iterator[Sent]:
        yield notification("didClose", "textDocument/didClose", {"textDocument": {"uri": self.uri}})
        model.docs.pop(self.uri, None)


@dataclass
class CodeActionRequest:
    uri: str
    start: tuple[int, int]
    end: tuple[int, int]
    diagnostics: bool

    def messages(self, model: Model) -> Iterator[Sent]:
        doc = model.docs.get(self.uri)
        rng = {"start": _pos(*self.start), "end": _pos(*self.end)}
        diagnostics = [{"range": rng, "message": "fuzz"}] if self.diagnostics else []
        selection = None
        if not _valid_uint(*self.start, *self.end) or doc is None:
            allowed = {INVALID_PARAMS}
        else:
            allowed = {RESULT}
            selection = doc.offset(*self.start) != doc.offset(*self.end)
        params = {
            "textDocument": {"uri": self.uri},
            "range": rng,
            "context": {"diagnostics": diagnostics},
        }
        sent = request(model, "codeAction", "textDocument/codeAction", params, allowed)
        sent.selection = selection
        yield sent


@dataclass
class Probe:
    """Code actions over ranges at the edges of the model's copy (a line's last character, its
    end to one past it, the last line to past the document): whether "Rewrite selection" is
    offered tells whether the range is empty in the server's line store, which must agree with
    the model after every edit."""

    uri: str
    line_pick: int

    def messages(self, model: Model) -> Iterator[Sent]:
        doc = model.docs.get(self.uri)
        if doc is None:
            yield from CodeActionRequest(self.uri, (0, 0), (0, 0), False).messages(model)
            return
        count = len(doc.bodies)
        line = self.line_pick % count
        end = utf16_len(doc.bodies[line])
        last_end = utf16_len(doc.bodies[count - 1])
        for start, stop in (
            ((line, max(end - 1, 0)), (line, end)),
            ((line, end), (line, end + 1)),
            ((count - 1, 0), (count, 0)),
            ((count - 1, last_end), (count + 3, 0)),
        ):
            probe = CodeActionRequest(self.uri, start, stop, False)
            for sent in probe.messages(model):
                sent.kind = "probe"
                yield sent


@dataclass
class CompletionRequest:
    inline: bool
    uri: str
    position: tuple[int, int]

    def messages(self, model: Model) -> Iterator[Sent]:
        doc = model.docs.get(self.uri)
        if not _valid_uint(*self.position) or doc is None:
            allowed = {INVALID_PARAMS}
        else:
            allowed = {RESULT}  # past the end is the end: answered like any position
        params: dict[str, Any] = {
            "textDocument": {"uri": self.uri},
            "position": _pos(*self.position),
        }
        if self.inline:
            params["context"] = {"triggerKind": 2}
            method = "textDocument/inlineCompletion"
        else:
            method = "textDocument/completion"
        yield request(model, "completion", method, params, allowed)


@dataclass
class ActionRequest:
    """codeAction/resolve, or the command for clients without resolve, with Kestrel-shaped
    data (`data` None: a stale or current version of a real document) or garbage data."""

    via_command: bool
    uri: str
    kind: str
    lines: tuple[int, int]
    stale: bool
    garbage: Any = None

    def messages(self, model: Model) -> Iterator[Sent]:
        doc = model.docs.get(self.uri)
        if self.garbage is not None:
            data = self.garbage
            allowed = {INVALID_PARAMS}
        else:
            version = (doc.version if doc else 1) + (7 if self.stale else 0)
            data = {
                "uri": self.uri,
                "version": version,
                "kind": self.kind,
                "start_line": self.lines[0],
                "end_line": self.lines[1],
                "diagnostics": [],
            }
            start, end = self.lines
            if doc is None or doc.version != version:
                allowed = {RESULT}  # "the file changed" notice, no edit
            elif start < 0 or start > end or end >= len(doc.bodies):
                allowed = {INVALID_PARAMS}
            else:
                allowed = {RESULT}
        if self.via_command:
            params = {"command": APPLY, "arguments": [data]}
            yield request(model, "command", "workspace/executeCommand", params, allowed)
        else:
            params = {"title": "Kestrel: fuzz", "kind": self.kind, "data": data}
            yield request(model, "resolve", "codeAction/resolve", params, allowed)


KNOWN_REQUESTS = (
    "textDocument/codeAction",
    "textDocument/completion",
    "textDocument/inlineCompletion",
    "codeAction/resolve",
    "workspace/executeCommand",
)
KNOWN_NOTIFICATIONS = ("textDocument/didOpen", "textDocument/didChange", "textDocument/didClose")


@dataclass
class WrongParams:
    """A known method with params of the wrong type or shape."""

    method: str
    params: Any

    def messages(self, model: Model) -> Iterator[Sent]:
        if self.method in KNOWN_NOTIFICATIONS:
            yield notification("wrong params", self.method, self.params)
        else:
            yield request(model, "wrong params", self.method, self.params, {INVALID_PARAMS})


@dataclass
class UnknownMethod:
    method: str
    params: Any
    has_params: bool
    is_notification: bool

    def messages(self, model: Model) -> Iterator[Sent]:
        if self.is_notification:
            message: dict[str, Any] = {"jsonrpc": "2.0", "method": self.method}
            if self.has_params:
                message["params"] = self.params
            yield Sent(_dump(message), "unknown method")
            return
        yield request(
            model,
            "unknown method",
            self.method,
            self.params,
            {METHOD_NOT_FOUND},
            has_params=self.has_params,
        )


@dataclass
class NotJson:
    body: bytes

    def messages(self, model: Model) -> Iterator[Sent]:
        yield Sent(self.body, "invalid JSON", null_id_code=PARSE_ERROR)


@dataclass
class NotAnObject:
    value: Any

    def messages(self, model: Model) -> Iterator[Sent]:
        yield Sent(_dump(self.value), "JSON, not an object", null_id_code=INVALID_REQUEST)


@dataclass
class GarbageId:
    """A request whose id is neither an integer nor a string (a float, bool, object, array,
    null): an invalid request, answered with id null."""

    msg_id: Any
    method: str

    def messages(self, model: Model) -> Iterator[Sent]:
        body = _dump({"jsonrpc": "2.0", "id": self.msg_id, "method": self.method, "params": {}})
        yield Sent(body, "garbage id", null_id_code=INVALID_REQUEST)


@dataclass
class OddId:
    """A valid but unusual id (huge or negative integer, any string): answered with it."""

    flavor: str  # "huge", "negative" or "string"
    text: str = ""

    def messages(self, model: Model) -> Iterator[Sent]:
        n = model.new_id()
        msg_id: int | str = {"huge": 2**70 + n, "negative": -n}.get(self.flavor, f"{self.text}#{n}")
        body = _dump({"jsonrpc": "2.0", "id": msg_id, "method": "kestrel/odd", "params": {}})
        yield Sent(body, "odd id", msg_id, frozenset({METHOD_NOT_FOUND}))


@dataclass
class BadEnvelope:
    """An object with an id that is not a valid JSON-RPC 2.0 request: wrong or missing
    `jsonrpc`, or a method that is not a string."""

    jsonrpc: Any  # "absent" leaves the member out
    method: Any

    def messages(self, model: Model) -> Iterator[Sent]:
        msg_id = model.new_id()
        message: dict[str, Any] = {"id": msg_id, "method": self.method, "params": {}}
        if self.jsonrpc != "absent":
            message["jsonrpc"] = self.jsonrpc
        yield Sent(_dump(message), "bad envelope", msg_id, frozenset({INVALID_REQUEST}))


@dataclass
class Nested:
    """JSON-RPC-looking objects inside params must not be taken for messages."""

    inner: Any
    method: str

    def messages(self, model: Model) -> Iterator[Sent]:
        params = {"nested": self.inner, "list": [self.inner]}
        allowed = {INVALID_PARAMS} if self.method in KNOWN_REQUESTS else {METHOD_NOT_FOUND}
        yield request(model, "nested JSON-RPC", self.method, params, allowed)


@dataclass
class StrayResponse:
    msg_id: int | str
    error: bool

    def messages(self, model: Model) -> Iterator[Sent]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.msg_id}
        if self.error:
            message["error"] = {"code": -1, "message": "a client error"}
        else:
            message["result"] = {"stray": True}
        yield Sent(_dump(message), "stray response")


@dataclass
class CancelStorm:
    """Many `$/cancelRequest`: for recent requests, unknown ids and garbage ids."""

    recent: int
    unknown: list[int | str]
    garbage: list[Any]

    def messages(self, model: Model) -> Iterator[Sent]:
        last = model.next_id
        ids: list[Any] = [last - k for k in range(self.recent) if last - k > 0]
        ids += self.unknown
        for msg_id in ids:
            yield notification("cancel", "$/cancelRequest", {"id": msg_id})
        for msg_id in self.garbage:
            yield notification("cancel", "$/cancelRequest", {"id": msg_id})


@dataclass
class Settings:
    """didChangeConfiguration with wrong-typed values: each is one Kestrel notice at most,
    never a changed provider, key or base URL."""

    kestrel: Any

    def messages(self, model: Model) -> Iterator[Sent]:
        yield notification(
            "settings", "workspace/didChangeConfiguration", {"settings": {"kestrel": self.kestrel}}
        )


Operation = (
    Open
    | Change
    | Close
    | CodeActionRequest
    | Probe
    | CompletionRequest
    | ActionRequest
    | WrongParams
    | UnknownMethod
    | NotJson
    | NotAnObject
    | GarbageId
    | OddId
    | BadEnvelope
    | Nested
    | StrayResponse
    | CancelStorm
    | Settings
)
