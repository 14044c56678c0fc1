"""pygls's protocol, adjusted: every malformed request gets an answer, errors are one line with
no traceback, and documents live in Kestrel's own line store."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol, lsp_method

from kestrel_lsp.documents import DocumentStore, PositionError
from kestrel_lsp.secrets import SECRETS

log = logging.getLogger(__name__)


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(SECRETS.redact(str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


_REQUEST_ATTRIBUTES = ("id", "method", "jsonrpc", "params")
_NOTIFICATION_ATTRIBUTES = ("method", "jsonrpc", "params")


def _has(message: Any, names: tuple[str, ...]) -> bool:
    return all(hasattr(message, name) for name in names)


class KestrelProtocol(LanguageServerProtocol):
    def _check_handler_result(self, future: Any) -> None:
        # pygls files each notification's future in `_request_futures` under a fresh id and
        # only ever removes requests' futures: every didChange kept ~2 KB (a Future and its
        # Condition) for the life of the process. Drop it when the handler is done.
        for key, pending in list(self._request_futures.items()):
            if pending is future:
                del self._request_futures[key]
                break
        super()._check_handler_result(future)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if "id" in data and "method" in data:
                method = data.get("method")
                self._send_response(
                    data["id"],
                    None,
                    JsonRpcInvalidParams(
                        f"invalid params for {method}: they do not match the LSP types"
                    ).to_response_error(),
                )
            raise

    def _send_response(
        self, msg_id: Any, result: Any | None = None, error: Any | None = None
    ) -> None:
        if error is not None:
            # The log has the traceback (redacted); the client gets one line without it.
            error = types.ResponseError(code=error.code, message=one_line(error.message))
        super()._send_response(msg_id, result, error)

    # -- documents: Kestrel's store instead of pygls's ----------------------------------------

    def _documents(self) -> DocumentStore:
        return self._server.session.documents  # type: ignore[attr-defined]

    def handle_message(self, message: Any) -> None:
        if isinstance(message, dict):
            # No "jsonrpc" member: not a JSON-RPC message. Answer it if it asks for an answer.
            if "id" in message and isinstance(message["id"], int | str):
                self._send_response(
                    message["id"],
                    None,
                    JsonRpcInvalidRequest("not a JSON-RPC 2.0 request").to_response_error(),
                )
            log.warning("ignored a message that is not JSON-RPC 2.0")
            return
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
            # The client and server disagree about the text: mark the copy stale so no edit
            # is computed on it, until the client sends the whole text again.
            log.warning("didChange out of range for %s: %s", document.uri, exc)
            document.version = -1
            return
        document.version = params.text_document.version
        yield from ()

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Any:
        self._documents().close(params.text_document.uri)
        yield from ()
