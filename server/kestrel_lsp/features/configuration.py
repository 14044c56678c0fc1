"""The settings as the client sends them: `initialize`, `workspace/configuration` pulls and
`workspace/didChangeConfiguration`, each through the session's one door (`Session.apply`), and
what follows a change: the refused settings told, the insecure-TLS warning, the status."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from kestrel_lsp.features.host import Editor, Host
from kestrel_lsp.features.insecure_tls import InsecureTlsWarning
from kestrel_lsp.settings_layers import Layer


class Configuration:
    def __init__(self, host: Host) -> None:
        self.host = host
        self._insecure_tls = InsecureTlsWarning(host.notices)

    def initialize(self, params: types.InitializeParams) -> None:
        host = self.host
        host.editor = Editor.from_initialize(params)
        host.notices.client_name = host.editor.name
        self._apply("initializationOptions", params.initialization_options)

    async def initialized(self, _params: types.InitializedParams) -> None:
        self.host.notices.initialized()
        await self._pull()

    async def changed(self, params: types.DidChangeConfigurationParams) -> None:
        if params.settings is None:  # eglot: "pull again", never "wipe"
            await self._pull()
            return
        self._apply("didChangeConfiguration", params.settings)

    async def _pull(self) -> None:
        section = await self.host.fetch_configuration()
        if section is not None:
            self._apply("configuration", section)

    def _apply(self, layer: Layer, section: Any) -> None:
        session, notices = self.host.session, self.host.notices
        for problem in session.apply(layer, section):
            notices.tell(problem)
        self._insecure_tls.settings_applied(session.settings.http.insecure_hosts)
        notices.settings_applied(session.provider, session.missing_key())
