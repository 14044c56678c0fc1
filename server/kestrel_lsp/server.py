"""The language server: registers features and wires LSP methods to them. No feature work here."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcParseError
from pygls.lsp.server import LanguageServer

from kestrel_lsp import __version__
from kestrel_lsp.features.code_actions import APPLY_COMMAND, KINDS, CodeActions
from kestrel_lsp.features.completions import Completions
from kestrel_lsp.features.host import InvalidParams
from kestrel_lsp.features.insecure_tls import InsecureTlsWarning
from kestrel_lsp.features.notices import ERROR, WARNING, Notices
from kestrel_lsp.protocol import KestrelProtocol, converter
from kestrel_lsp.secrets import install_redacting_logging, log_level
from kestrel_lsp.session import Session

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "kestrel/status"
CHECK_SETUP_COMMAND = "kestrel.checkSetup"


class KestrelServer(LanguageServer):
    def __init__(self, session: Session | None = None) -> None:
        super().__init__(
            "kestrel-lsp", __version__, protocol_cls=KestrelProtocol, converter_factory=converter
        )
        self.session = session or Session()
        self.notices = Notices(self._show_message, self._send_status)
        self.code_actions = CodeActions(self)
        self.completions = Completions(self)
        self.insecure_tls = InsecureTlsWarning(self.notices)

    # -- what features need (the Host interface) ------------------------------------------

    def _show_message(self, kind: int, text: str) -> None:
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType(kind), message=text)
        )

    def _send_status(self, payload: dict[str, Any]) -> None:
        self.protocol.notify(STATUS_NOTIFICATION, payload)

    async def apply_edit(self, edit: types.WorkspaceEdit) -> bool:
        result = await self.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit))
        return bool(result and result.applied)

    @asynccontextmanager
    async def work_progress(self, title: str) -> AsyncIterator[None]:
        """Report the work as cancellable `$/progress` when the client supports it.

        The token is created alongside the work, not before it: the provider request does not
        wait for the client's answer to `window/workDoneProgress/create` (under 50 concurrent
        resolves that answer came back tens of milliseconds later). `begin` goes out when the
        client has answered; work that finishes first waits for that answer, so the client
        always sees create, begin, end in that order.
        """
        if not self.session.supports_progress:
            yield
            return
        token = f"kestrel-{uuid.uuid4()}"
        task = asyncio.current_task()
        progress = self.work_done_progress
        state = {"finished": False, "begun": False, "handled": False}

        def created(creation: asyncio.Future[Any]) -> None:
            if state["handled"]:
                return
            state["handled"] = True
            if creation.cancelled():
                return
            if creation.exception() is not None:  # a client that cannot show progress
                log.info("work done progress unavailable: %s", creation.exception())
                return
            if state["finished"]:
                progress.tokens.pop(token, None)
                return
            future = progress.tokens.get(token)
            if future is not None and task is not None:
                future.add_done_callback(lambda _f: task.cancel())
            progress.begin(token, types.WorkDoneProgressBegin(title=title, cancellable=True))
            state["begun"] = True

        creation = asyncio.ensure_future(asyncio.wait_for(progress.create_async(token), timeout=5))
        creation.add_done_callback(created)
        try:
            yield
            if not creation.done():
                await asyncio.wait({creation})
            created(creation)  # now, if its done-callback has not run yet: begin before end
        finally:
            state["finished"] = True
            if state["begun"]:
                progress.end(token, types.WorkDoneProgressEnd())
            progress.tokens.pop(token, None)

    # -- settings ----------------------------------------------------------------------------

    def apply_settings(self) -> None:
        errors = self.session.update_settings()
        for error in errors:
            self.notices.show(ERROR, error.notice)
        self.insecure_tls.settings_applied(self.session.settings.http.insecure_hosts)
        self.refresh_status()

    def refresh_status(self) -> None:
        session = self.session
        if session.key_missing():
            if self.notices.state != "missingKey":
                self.notices.provider_failed(session.missing_key_error(), automatic=True)
        elif (
            self.notices.state in (None, "missingKey", "rejectedKey", "quotaExhausted")
            or self.notices.provider != session.provider  # a status about another provider
        ):
            self.notices.set_status("ok", session.provider, f"Kestrel: ready ({session.provider}).")

    async def pull_configuration(self) -> None:
        caps = self.client_capabilities.workspace
        if not (caps and caps.configuration):
            return
        try:
            result = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="kestrel")])
            )
        except Exception:
            log.warning("workspace/configuration failed", exc_info=True)
            return
        section = result[0] if result else None
        if section is not None:
            self.session.layers.set_configuration(section)
            self.apply_settings()

    # -- errors -------------------------------------------------------------------------------

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):  # bytes not JSON text
            # JSON-RPC: a parse error is answered with id null (pygls would omit the id).
            error_object = {"code": JsonRpcParseError.CODE, "message": "the body is not JSON"}
            self.protocol._send_data({"jsonrpc": "2.0", "id": None, "error": error_object})
        log.warning("server error (%s): %s", getattr(source, "__name__", source), error)


def _invalid(exc: InvalidParams) -> JsonRpcInvalidParams:
    return JsonRpcInvalidParams(str(exc))


def build_server(session: Session | None = None) -> KestrelServer:
    server = KestrelServer(session)

    @server.feature(types.INITIALIZE)
    def initialize(ls: KestrelServer, params: types.InitializeParams) -> None:
        caps = params.capabilities
        text = caps.text_document
        session = ls.session
        session.supports_inline_completion = bool(text and text.inline_completion)
        action_caps = text.code_action if text else None
        resolve = action_caps.resolve_support if action_caps else None
        session.supports_resolve = bool(resolve and "edit" in resolve.properties)
        session.supports_progress = bool(caps.window and caps.window.work_done_progress)
        ls.notices.client_name = params.client_info.name if params.client_info else None
        session.layers.set_initialization_options(params.initialization_options)
        ls.apply_settings()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: KestrelServer, _params: types.InitializedParams) -> None:
        ls.notices.initialized()
        await ls.pull_configuration()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: KestrelServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if params.settings is None:  # eglot: "pull again", never "wipe"
            await ls.pull_configuration()
            return
        ls.session.layers.apply_change(params.settings)
        ls.apply_settings()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(KINDS), resolve_provider=True),
    )
    def code_action(ls: KestrelServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        try:
            return ls.code_actions.actions_for(params)
        except InvalidParams as exc:
            raise _invalid(exc) from None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: KestrelServer, action: types.CodeAction) -> types.CodeAction:
        try:
            return await ls.code_actions.resolve(action)
        except InvalidParams as exc:
            raise _invalid(exc) from None

    @server.command(APPLY_COMMAND)
    async def apply_action(ls: KestrelServer, data: Any = None) -> Any:
        # Without `arguments` pygls calls this with none: that is invalid params, not a crash.
        try:
            return await ls.code_actions.apply_command(data)
        except InvalidParams as exc:
            raise _invalid(exc) from None

    @server.command(CHECK_SETUP_COMMAND)
    async def check_setup(ls: KestrelServer, *args: Any) -> Any:
        from kestrel_lsp.features.check_setup import run_check

        return await run_check(ls)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: KestrelServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        try:
            return await ls.completions.inline(params)
        except InvalidParams as exc:
            raise _invalid(exc) from None

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(ls: KestrelServer, params: types.CompletionParams) -> types.CompletionList:
        try:
            return await ls.completions.classic(params)
        except InvalidParams as exc:
            raise _invalid(exc) from None

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


__all__ = ["WARNING", "KestrelServer", "build_server", "serve"]
