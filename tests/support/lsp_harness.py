"""Drive the real server (a subprocess) from pytest-lsp's client, as an editor would.

`editor(...)` starts `python -m kestrel_lsp` with the given capabilities, initialization options
and environment, records every notice, status and byte the server writes, and shuts it down.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Union

import attrs
from cattrs import Converter
from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, LanguageClientProtocol, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from lsp_wire import clean_env

CANARY = "sk-kestrel-canary-7d41f9e2b8c3a6051e"
URI = "file:///work/project/app.py"
SAMPLE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"


@dataclass
class Notice:
    type: int
    message: str


@dataclass
class Recorder:
    notices: list[Notice] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    server_output: list[str] = field(default_factory=list)
    stderr: bytearray = field(default_factory=bytearray)
    edits_applied: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    configuration_requests: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def changed(self) -> None:
        self._changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)


def capabilities(name: str) -> types.ClientCapabilities:
    """pytest-lsp's capability sets; VS Code 1.65's gets the inline completion it lacks."""
    caps = client_capabilities(name)
    if name == "visual-studio-code" and caps.text_document is not None:
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps


# Typed messages are unstructured by this converter's hooks (made once, used by every client).
_TYPED = default_converter()
_MESSAGE_TYPES = frozenset(
    kinds[0] for kinds in types.METHOD_TO_TYPES.values() if kinds[0] is not None
)


def _as_typed_or_as_given(message: Any) -> Any:
    """A request or notification with lsprotocol params (or none where it takes none) as
    lsprotocol writes it; any other params (a dict, a list, null: what bad-input tests send)
    as they are, which lsprotocol's hooks cannot do."""
    fields = attrs.fields_dict(type(message))
    params = getattr(message, "params", None)
    if attrs.has(type(params)) or (params is None and fields["params"].default is None):
        return _TYPED.unstructure(message)
    return {name: getattr(message, name) for name in fields}


def _converter() -> Converter:
    """pygls's converter, sending params as given (`_as_typed_or_as_given`), with lsprotocol's
    CodeAction/Command mix-up fixed: lsprotocol picks Command for a CodeAction that carries a
    command; pick by shape instead."""
    converter = default_converter()

    def structure(obj: Any, _: Any) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    # lsprotocol's annotations use typing.Union, and cattrs matches the hook by equality.
    union = Union[types.Command, types.CodeAction]  # noqa: UP007
    converter.register_structure_hook(union, structure)
    converter.register_unstructure_hook_func(
        lambda cls: cls in _MESSAGE_TYPES, _as_typed_or_as_given
    )
    return converter


class HarnessProtocol(LanguageClientProtocol):
    """pytest-lsp's protocol, keeping a line for every message the server writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server_output: list[str] = []

    def handle_message(self, message: Any) -> None:
        self.server_output.append(repr(message))
        super().handle_message(message)


class HarnessClient(LanguageClient):
    protocol: HarnessProtocol

    def __init__(self, configuration: dict[str, Any] | None) -> None:
        super().__init__(
            configuration=configuration,
            protocol_cls=HarnessProtocol,
            converter_factory=_converter,
        )


class Editor:
    """A thin, typed wrapper over the client for the tests' common moves."""

    def __init__(self, client: HarnessClient, recorder: Recorder) -> None:
        self.client = client
        self.rec = recorder
        self.versions: dict[str, int] = {}

    @property
    def notices(self) -> list[Notice]:
        return self.rec.notices

    def open(self, text: str = SAMPLE, uri: str = URI, language: str = "python") -> str:
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            )
        )
        return uri

    def type_text(self, line: int, character: int, text: str, uri: str = URI) -> None:
        self.versions[uri] += 1
        position = types.Position(line, character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(position, position), text=text
                    )
                ],
            )
        )

    async def actions(
        self,
        start: tuple[int, int] = (0, 0),
        end: tuple[int, int] = (1, 0),
        diagnostics: list[types.Diagnostic] | None = None,
        uri: str = URI,
    ) -> list[types.CodeAction]:
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri),
                range=types.Range(types.Position(*start), types.Position(*end)),
                context=types.CodeActionContext(diagnostics=diagnostics or []),
            )
        )
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def action(self, kind: str, **kw: Any) -> types.CodeAction:
        matches = [a for a in await self.actions(**kw) if a.kind == kind]
        assert matches, f"no {kind} action offered"
        return matches[0]

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        return await self.client.code_action_resolve_async(action)

    async def change_settings(self, settings: Any) -> None:
        self.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=settings)
        )

    async def wait_for_notice(self, start: str, timeout: float = 20) -> Notice:
        await self.rec.wait_until(
            lambda: any(n.message.startswith(start) for n in self.notices), timeout
        )
        return next(n for n in self.notices if n.message.startswith(start))

    async def wait_for_state(self, state: str, timeout: float = 20) -> dict[str, Any]:
        await self.rec.wait_until(
            lambda: bool(self.rec.statuses) and self.rec.statuses[-1]["state"] == state, timeout
        )
        return self.rec.statuses[-1]

    async def roundtrip(self) -> None:
        """A request answered after everything sent before it (the server is ordered)."""
        try:
            await self.client.protocol.send_request_async("kestrel/doesNotExist", {})
        except JsonRpcMethodNotFound:
            return
        raise AssertionError("kestrel/doesNotExist was answered with a result")


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return clean_env(extra)


@asynccontextmanager
async def editor(
    *,
    caps: str = "visual-studio-code",
    init: Any = None,
    env: dict[str, str] | None = None,
    configuration: dict[str, Any] | None = None,
    apply_edits: bool = True,
    client_name: str | None = None,
) -> AsyncIterator[Editor]:
    # pytest-lsp keys its configuration by scope URI; "" is the global scope.
    client = HarnessClient(
        configuration={"": {"kestrel": configuration}} if configuration is not None else None
    )
    rec = Recorder(server_output=client.protocol.server_output)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features.pop(types.WINDOW_SHOW_MESSAGE, None)
    features.pop(types.WORKSPACE_CONFIGURATION, None)
    register_lsp_features(client, features)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(_client: LanguageClient, params: types.ShowMessageParams) -> None:
        rec.notices.append(Notice(int(params.type), params.message))
        rec.changed()

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def configuration_request(
        client: LanguageClient, params: types.ConfigurationParams
    ) -> list[Any]:
        rec.configuration_requests += 1
        rec.changed()
        return [
            client.get_configuration(section=item.section, scope_uri=item.scope_uri)
            for item in params.items
        ]

    @client.feature("kestrel/status")
    def status(_client: LanguageClient, params: Any) -> None:
        rec.statuses.append(
            {"state": params.state, "provider": params.provider, "message": params.message}
        )
        rec.changed()

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(
        _client: LanguageClient, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult:
        rec.edits_applied.append(params)
        rec.changed()
        return types.ApplyWorkspaceEditResult(applied=apply_edits)

    # pytest-lsp forwards the server's stderr to the test's; the server writes its stderr into
    # a pipe of ours instead (set in the child between fork and exec), so the tests can read it.
    stderr_read, stderr_write = os.pipe()
    try:
        await client.start_io(
            sys.executable,
            "-m",
            "kestrel_lsp",
            env=server_env(env),
            preexec_fn=lambda: os.dup2(stderr_write, 2),
        )
    finally:
        os.close(stderr_write)
    stderr = asyncio.StreamReader()
    stderr_transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stderr), os.fdopen(stderr_read, "rb", buffering=0)
    )

    async def read_stderr() -> None:
        while chunk := await stderr.read(4096):
            rec.stderr.extend(chunk)

    stderr_task = asyncio.create_task(read_stderr())
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(caps),
            client_info=types.ClientInfo(name=client_name) if client_name else None,
            initialization_options=init,
            root_uri="file:///work/project",
            workspace_folders=[types.WorkspaceFolder("file:///work/project", "project")],
        )
    )
    ed = Editor(client, rec)
    try:
        yield ed
    finally:
        try:
            await asyncio.wait_for(client.shutdown_session(), 10)
        finally:
            await client.stop()
            try:
                await asyncio.wait_for(stderr_task, 10)
            finally:
                stderr_transport.close()
