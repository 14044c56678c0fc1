"""What features need from the server, as an interface: features never import the server."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from kestrel_lsp.documents import Document, DocumentStore
from kestrel_lsp.features.notices import Notices
from kestrel_lsp.session import Session


@dataclass
class Editor:
    """What the client said about itself in `initialize`."""

    name: str | None = None  # `clientInfo.name`
    inline_completion: bool = False
    resolve_edits: bool = False  # `codeAction/resolve` may fill in `edit`
    progress: bool = False  # `window/workDoneProgress`

    @classmethod
    def from_initialize(cls, params: types.InitializeParams) -> Editor:
        caps = params.capabilities
        text = caps.text_document
        action_caps = text.code_action if text else None
        resolve = action_caps.resolve_support if action_caps else None
        return cls(
            name=params.client_info.name if params.client_info else None,
            inline_completion=bool(text and text.inline_completion),
            resolve_edits=bool(resolve and "edit" in resolve.properties),
            progress=bool(caps.window and caps.window.work_done_progress),
        )


class Host(Protocol):
    session: Session
    documents: DocumentStore
    notices: Notices
    editor: Editor

    async def apply_edit(self, edit: types.WorkspaceEdit) -> bool: ...

    def work_progress(self, title: str) -> AbstractAsyncContextManager[None]: ...

    async def fetch_configuration(self) -> Any:
        """The client's `kestrel` section (`workspace/configuration`), or None when the client
        cannot answer."""
        ...


class InvalidParams(JsonRpcInvalidParams):
    """A request's params are well-formed but wrong (unknown document, position out of range):
    answered as JSON-RPC −32602 with this message."""


def open_document(documents: DocumentStore, uri: str) -> Document:
    document = documents.get(uri)
    if document is None:
        raise InvalidParams(f"unknown document {uri}: it is not open (send didOpen first)")
    return document
