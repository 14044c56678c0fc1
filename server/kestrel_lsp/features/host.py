"""What features need from the server, as an interface: features never import the server."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from lsprotocol import types

from kestrel_lsp.features.notices import Notices
from kestrel_lsp.session import Session


class Host(Protocol):
    session: Session
    notices: Notices

    async def apply_edit(self, edit: types.WorkspaceEdit) -> bool: ...

    def work_progress(self, title: str) -> AbstractAsyncContextManager[None]: ...


class InvalidParams(Exception):
    """A request's params are well-formed but wrong (unknown document, position out of range).
    The server answers it as JSON-RPC −32602 with this message."""
