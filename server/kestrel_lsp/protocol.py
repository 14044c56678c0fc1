"""pygls's protocol, adjusted: every malformed request gets an answer, errors are one line with
no traceback, and documents live in Kestrel's own line store."""

from __future__ import annotations

import contextvars
import logging
from functools import partial
from typing import Any

import cattrs
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
)
from pygls.protocol import LanguageServerProtocol, default_converter, lsp_method

from kestrel_lsp.documents import DocumentStore, PositionError
from kestrel_lsp.secrets import SECRETS

log = logging.getLogger(__name__)

INVALID_REQUEST = JsonRpcInvalidRequest.CODE


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(SECRETS.redact(str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _valid_id(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def envelope_problem(message: Any) -> str | None:
    """Why `message` is not a JSON-RPC 2.0 request, notification or response (None: it is)."""
    if not isinstance(message, dict):
        return "the message is not a JSON object"
    if message.get("jsonrpc") != "2.0":
        return 'the message lacks "jsonrpc": "2.0"'
    if "method" in message:
        if not isinstance(message["method"], str):
            return "the method is not a string"
        if "id" in message and not _valid_id(message["id"]):
            return "the id is neither an integer nor a string"
    return None


_REQUEST_ATTRIBUTES = ("id", "method", "jsonrpc", "params")
_NOTIFICATION_ATTRIBUTES = ("method", "jsonrpc", "params")


def _has(message: Any, names: tuple[str, ...]) -> bool:
    return all(hasattr(message, name) for name in names)


def converter() -> cattrs.Converter:
    """pygls's converter, reading positions strictly: lsprotocol's own hook takes 1.5 or "1"
    for line 1, while LSP positions are unsigned integers and anything else is invalid params.
    (A value past the end is valid: the document clamps it.)"""
    conv = default_converter()
    structure_position = conv.get_structure_hook(types.Position)

    def position(value: Any, cls: type) -> types.Position:
        if isinstance(value, dict):
            for name in ("line", "character"):
                if type(value.get(name)) is not int:
                    raise TypeError(f"position.{name} is not an integer")
        return structure_position(value, cls)

    conv.register_structure_hook(types.Position, position)
    return conv


class KestrelProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        # pygls's reader passes this as json.loads's object_hook, so it runs for every object
        # in the body, innermost first: a JSON-RPC-looking object inside params would be taken
        # for a message. Structure only the top-level message, in handle_message.
        return data

    def handle_message(self, message: Any) -> None:
        problem = envelope_problem(message)
        if problem is not None:
            # JSON-RPC 2.0: an invalid request is answered -32600, with id null when its id
            # cannot be told. A response (an id, no method) is never answered.
            is_response = (
                isinstance(message, dict)
                and "method" not in message
                and ("result" in message or "error" in message)
            )
            if not is_response:
                msg_id = message.get("id") if isinstance(message, dict) else None
                self._send_error(msg_id if _valid_id(msg_id) else None, INVALID_REQUEST, problem)
            log.warning("ignored an invalid JSON-RPC message: %s", problem)
            return
        method = message.get("method")
        is_request = method is not None and "id" in message
        if is_request and not self._handles(method):
            # Unknown method: -32601 whatever the params (pygls would try them against the LSP
            # type of a method it does not serve and answer -32602).
            self._send_error(
                message["id"], JsonRpcMethodNotFound.CODE, f"Method Not Found: {method}"
            )
            return
        if method is not None and "params" not in message:
            message = {**message, "params": None}
        try:
            structured = super().structure_message(message)
        except JsonRpcException:
            if is_request:
                self._send_error(
                    message["id"],
                    JsonRpcInvalidParams.CODE,
                    f"invalid params for {method}: they do not match the LSP types",
                )
            log.warning("ignored a message whose params do not structure: %s", method)
            return
        if method != types.INITIALIZE:
            self._server.set_up()  # type: ignore[attr-defined]  # the session, the features
        self._dispatch(structured)

    def _dispatch(self, message: Any) -> None:
        # pygls tells requests from notifications with isinstance() against runtime-checkable
        # Protocols, which walks the classes' attributes on every call (tens of microseconds
        # per message in Python 3.11). Checking the same attributes directly is the same test.
        is_request = _has(message, _REQUEST_ATTRIBUTES)
        if (not is_request and not _has(message, _NOTIFICATION_ATTRIBUTES)) or (
            message.jsonrpc != self.VERSION or (self._shutdown and message.method != types.EXIT)
        ):
            super().handle_message(message)  # responses, and pygls's own warnings
            return
        context = contextvars.copy_context()
        if is_request:
            context.run(self._handle_request, message.id, message.method, message.params)
        else:
            context.run(self._handle_notification, message.method, message.params)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: Any = None,
        kwargs: Any = None,
    ) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        internal = callback == self._check_handler_result or (
            isinstance(callback, partial) and callback.func == self._run_generator
        )
        if not internal:
            return  # a client's request: pygls removes its future when it answers
        # A notification, or a built-in handler's step into a user handler: pygls files its
        # future under a fresh uuid and never removes it (about 1 KB per keystroke).
        future = self._request_futures.get(msg_id)
        if future is None:
            return
        if future.done():
            self._request_futures.pop(msg_id, None)
        else:
            future.add_done_callback(lambda _f: self._request_futures.pop(msg_id, None))

    def _handles(self, method: str) -> bool:
        try:
            self._get_handler(method)
        except JsonRpcMethodNotFound:
            return False
        return True

    def _send_error(self, msg_id: Any, code: int, message: str) -> None:
        # Built by hand: pygls's response type drops an id that is None, and JSON-RPC wants
        # `"id": null` when the request's id could not be told.
        error = {"code": code, "message": one_line(message)}
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": error})

    def _send_response(
        self, msg_id: Any, result: Any | None = None, error: Any | None = None
    ) -> None:
        if error is not None:
            # The log has the traceback (redacted); the client gets one line without it.
            error = types.ResponseError(code=error.code, message=one_line(error.message))
        super()._send_response(msg_id, result, error)

    # -- documents: Kestrel's store instead of pygls's ----------------------------------------

    def _documents(self) -> DocumentStore:
        return self._server.documents  # type: ignore[attr-defined]

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Any:
        doc = params.text_document
        self._documents().encoding = str(self.server_capabilities.position_encoding or "utf-16")
        self._documents().open(doc.uri, doc.language_id, doc.version, doc.text)
        yield from ()

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        document = self._documents().get(params.text_document.uri)
        if document is None:
            log.warning("didChange for a document that is not open: %s", params.text_document.uri)
            return
        try:
            for change in params.content_changes:
                if isinstance(change, types.TextDocumentContentChangePartial):
                    start = document.offset_of(
                        change.range.start.line, change.range.start.character
                    )
                    end = document.offset_of(change.range.end.line, change.range.end.character)
                    document.apply_change(start, end, change.text)
                else:
                    document = self._documents().open(
                        document.uri, document.language_id, 0, change.text
                    )
        except PositionError as exc:
            # A range that ends before it starts: the client and server no longer agree about
            # the text. Mark the copy stale so no edit is computed on it, until the client
            # sends the whole text again.
            log.warning("didChange out of range for %s: %s", document.uri, exc)
            document.version = -1
            return
        document.version = params.text_document.version
        yield from ()

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        self._documents().close(params.text_document.uri)
        yield from ()
