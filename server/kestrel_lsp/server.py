"""The language server: owns what the features share, registers them and wires LSP methods to
them. No feature work here (features never import this module; they see the `Host` interface)."""

from __future__ import annotations

import gc
import json
import logging
import os
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcParseError
from pygls.lsp.server import LanguageServer

from kestrel_lsp import __version__
from kestrel_lsp.documents import DocumentStore
from kestrel_lsp.features.action_kinds import APPLY_COMMAND, KINDS
from kestrel_lsp.protocol import KestrelProtocol, converter
from kestrel_lsp.secrets import install_redacting_logging, log_level

if TYPE_CHECKING:
    from kestrel_lsp.features.code_actions import CodeActions
    from kestrel_lsp.features.completions import Completions
    from kestrel_lsp.features.configuration import Configuration
    from kestrel_lsp.features.host import Editor
    from kestrel_lsp.features.notices import Notices
    from kestrel_lsp.session import Session

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "kestrel/status"
CHECK_SETUP_COMMAND = "kestrel.checkSetup"


class KestrelServer(LanguageServer):
    """The `Host` the features see: the session, the documents, the editor, the notices.

    The session and the features are built by `set_up()`, on the first message after
    `initialize`: the editor's handshake waits for pygls alone, not for Kestrel's own imports
    (its settings, notices, providers and features: a tenth of a bare pygls server's start-up).
    The initialization options are applied then, before that message is handled.
    """

    session: Session
    editor: Editor
    notices: Notices
    configuration: Configuration
    code_actions: CodeActions
    completions: Completions

    def __init__(self, session: Session | None = None) -> None:
        super().__init__(
            "kestrel-lsp", __version__, protocol_cls=KestrelProtocol, converter_factory=converter
        )
        self.documents = DocumentStore()
        self._given_session = session
        self._initialize_params: types.InitializeParams | None = None
        self._set_up = False

    def set_up(self) -> None:
        if self._set_up:
            return
        self._set_up = True
        from kestrel_lsp.features.code_actions import CodeActions
        from kestrel_lsp.features.completions import Completions
        from kestrel_lsp.features.configuration import Configuration
        from kestrel_lsp.features.host import Editor
        from kestrel_lsp.features.notices import Notices
        from kestrel_lsp.session import Session

        self.session = self._given_session or Session()
        self.editor = Editor()
        self.notices = Notices(self._show_message, self._send_status)
        self.configuration = Configuration(self)
        self.code_actions = CodeActions(self)
        self.completions = Completions(self)
        if self._initialize_params is not None:
            self.configuration.initialize(self._initialize_params)

    def initialize_with(self, params: types.InitializeParams) -> None:
        if self._set_up:  # a message came before `initialize` and set the server up
            self.configuration.initialize(params)
        else:
            self._initialize_params = params

    def _show_message(self, kind: int, text: str) -> None:
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType(kind), message=text)
        )

    def _send_status(self, payload: dict[str, Any]) -> None:
        self.protocol.notify(STATUS_NOTIFICATION, payload)

    async def apply_edit(self, edit: types.WorkspaceEdit) -> bool:
        result = await self.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit))
        return bool(result and result.applied)

    def work_progress(self, title: str) -> AbstractAsyncContextManager[None]:
        from kestrel_lsp.features.progress import work_progress

        if not self.editor.progress:
            return nullcontext()
        return work_progress(self.work_done_progress, title)

    async def fetch_configuration(self) -> Any:
        caps = self.client_capabilities.workspace
        if not (caps and caps.configuration):
            return None
        try:
            result = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="kestrel")])
            )
        except Exception:
            log.warning("workspace/configuration failed", exc_info=True)
            return None
        return result[0] if result else None

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):  # bytes not JSON text
            # JSON-RPC: a parse error is answered with id null (pygls would omit the id).
            error_object = {"code": JsonRpcParseError.CODE, "message": "the body is not JSON"}
            self.protocol._send_data({"jsonrpc": "2.0", "id": None, "error": error_object})
        log.warning("server error (%s): %s", getattr(source, "__name__", source), error)


def build_server(session: Session | None = None) -> KestrelServer:
    """The server with every LSP method wired to the feature that answers it. A feature's
    `InvalidParams` is answered −32602 by pygls."""
    server = KestrelServer(session)

    @server.feature(types.INITIALIZE)
    def initialize(ls: KestrelServer, params: types.InitializeParams) -> None:
        ls.initialize_with(params)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: KestrelServer, params: types.InitializedParams) -> None:
        await ls.configuration.initialized(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: KestrelServer, params: types.DidChangeConfigurationParams
    ) -> None:
        await ls.configuration.changed(params)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS), resolve_provider=True),
    )
    def code_action(ls: KestrelServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions.actions_for(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: KestrelServer, action: types.CodeAction) -> types.CodeAction:
        return await ls.code_actions.resolve(action)

    @server.command(APPLY_COMMAND)
    async def apply_action(ls: KestrelServer, data: Any = None) -> Any:
        # Without `arguments` pygls calls this with none: that is invalid params, not a crash.
        return await ls.code_actions.apply_command(data)

    @server.command(CHECK_SETUP_COMMAND)
    async def check_setup(ls: KestrelServer, *args: Any) -> Any:
        from kestrel_lsp.features.check_setup import run_check  # its imports wait for its use

        return await run_check(ls)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: KestrelServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        return await ls.completions.inline(params)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(ls: KestrelServer, params: types.CompletionParams) -> types.CompletionList:
        return await ls.completions.classic(params)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: KestrelServer, *_args: Any) -> None:
        await ls.session.close()

    return server


def serve(tcp: str | None = None, gc_threshold: tuple[int, int, int] | None = None) -> None:
    level = log_level(os.environ)
    install_redacting_logging(level)
    log.debug("kestrel-lsp %s, log level %s", __version__, logging.getLevelName(level))
    server = build_server()
    # What start-up made lives as long as the process: freeze it out of future collections (a
    # full collection of it took ~50 ms, a pause any request could hit). The CLI held back full
    # collections during imports; restore its thresholds.
    gc.freeze()
    if gc_threshold is not None:
        gc.set_threshold(*gc_threshold)
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        from kestrel_lsp.stdio import start_io

        start_io(server)


__all__ = ["KestrelServer", "build_server", "serve"]
