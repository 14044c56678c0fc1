"""AI code actions: listed without calling the provider, computed on resolve (or by command)."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlparse

import attrs
import cattrs
from lsprotocol import types

from kestrel_lsp.documents import Document, PositionError
from kestrel_lsp.features import prompts, targets
from kestrel_lsp.features.action_kinds import (
    APPLY_COMMAND,
    CUSTOM,
    DOCSTRING,
    KINDS,
    QUICKFIX,
    SELECTION,
)
from kestrel_lsp.features.edits import refusal, replacement_for
from kestrel_lsp.features.host import Host, InvalidParams, open_document
from kestrel_lsp.features.notices import ActionCrashed, FileChanged
from kestrel_lsp.provider.errors import ProviderError
from kestrel_lsp.session import ConfigurationProblem
from kestrel_lsp.settings import CustomAction

log = logging.getLogger(__name__)

TITLES = {
    QUICKFIX: "Kestrel: Fix with AI",
    DOCSTRING: "Kestrel: Add docstring",
    SELECTION: "Kestrel: Rewrite selection",
}


@attrs.define
class ActionData:
    """What a listed action carries to its resolve: enough to recompute, and the version."""

    uri: str
    version: int
    kind: str
    start_line: int
    end_line: int
    diagnostics: list[str] = attrs.field(factory=list)
    # A custom action carries what the user saw listed: a later settings change does not
    # change what an action already offered does.
    title: str | None = None
    instruction: str | None = None

    @property
    def task(self) -> prompts.EditTask:
        if self.kind == CUSTOM:
            return prompts.EditTask(CUSTOM, self.instruction or "")
        return prompts.TASKS[self.kind]

    @property
    def shown_title(self) -> str:
        return f"Kestrel: {self.title}" if self.kind == CUSTOM else TITLES[self.kind]


_DATA = cattrs.Converter(forbid_extra_keys=True)


def structure_data(raw: Any) -> ActionData:
    if not isinstance(raw, dict):  # cattrs raises AttributeError on a list, say
        raise InvalidParams("this code action's data is not one Kestrel made")
    try:
        data = _DATA.structure(raw, ActionData)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        raise InvalidParams("this code action's data is not one Kestrel made") from exc
    if data.kind not in KINDS:
        raise InvalidParams(f"unknown Kestrel code action kind {data.kind!r}")
    if data.kind == CUSTOM and not (data.title and data.instruction):
        raise InvalidParams("this custom Kestrel action's data has no title or instruction")
    return data


def _wanted(kind: str, only: list[str] | None) -> bool:
    return not only or any(kind == o or kind.startswith(o + ".") for o in only)


def _custom_target(own: CustomAction, selected: bool) -> str:
    """Which built-in action's lines a custom action works on: the diagnostics' lines (as a
    fix does), else the selection, else the enclosing definition (as a docstring does)."""
    if own.when == "diagnostics":
        return QUICKFIX
    return SELECTION if selected else DOCSTRING


def _file_name(uri: str) -> str:
    return posixpath.basename(unquote(urlparse(uri).path)) or uri


class CodeActions:
    def __init__(self, host: Host) -> None:
        self.host = host

    def document(self, uri: str) -> Document:
        return open_document(self.host.documents, uri)

    # -- textDocument/codeAction --------------------------------------------------------------

    def actions_for(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        document = self.document(params.text_document.uri)
        try:
            start = document.offset_of(params.range.start.line, params.range.start.character)
            end = document.offset_of(params.range.end.line, params.range.end.character)
        except PositionError as exc:
            raise InvalidParams(str(exc)) from None
        start, end = min(start, end), max(start, end)
        only = [str(k) for k in params.context.only] if params.context.only else None
        diagnostics = [d.message for d in params.context.diagnostics]
        offered: list[tuple[str, CustomAction | None]] = []
        if diagnostics:
            offered.append((QUICKFIX, None))
        offered.append((DOCSTRING, None))
        if start != end:
            offered.append((SELECTION, None))
        shown = {"always": True, "selection": start != end, "diagnostics": bool(diagnostics)}
        offered += [(CUSTOM, own) for own in self.host.session.settings.actions if shown[own.when]]
        actions = []
        for kind, own in offered:
            if not _wanted(kind, only):
                continue
            lines_kind = kind if own is None else _custom_target(own, start != end)
            first, last = self._lines_for(document, lines_kind, params, start[0], end)
            data = ActionData(
                uri=document.uri,
                version=document.version,
                kind=kind,
                start_line=first,
                end_line=last,
                diagnostics=diagnostics if lines_kind == QUICKFIX else [],
                title=own.title if own else None,
                instruction=own.instruction if own else None,
            )
            actions.append(self._action(data, params.context.diagnostics))
        return actions

    @staticmethod
    def _lines_for(
        document: Document,
        kind: str,
        params: types.CodeActionParams,
        start_line: int,
        end: tuple[int, int],
    ) -> tuple[int, int]:
        end_line = end[0] - 1 if end[1] == 0 and end[0] > start_line else end[0]
        if kind == DOCSTRING:
            return targets.definition_lines(document, start_line)
        if kind == QUICKFIX:
            lines = [start_line, end_line]
            for diagnostic in params.context.diagnostics:
                lines += [diagnostic.range.start.line, diagnostic.range.end.line]
            last = len(document.lines) - 1
            return max(0, min(lines)), min(last, max(lines))
        return start_line, end_line

    def _action(
        self, data: ActionData, diagnostics: Sequence[types.Diagnostic]
    ) -> types.CodeAction:
        kind, title = data.kind, data.shown_title
        raw = _DATA.unstructure(data)
        action = types.CodeAction(
            title=title,
            kind=kind,
            diagnostics=list(diagnostics) if kind == QUICKFIX and diagnostics else None,
            is_preferred=kind == QUICKFIX or None,
        )
        if self.host.editor.resolve_edits:
            action.data = raw
        else:
            action.command = types.Command(title=title, command=APPLY_COMMAND, arguments=[raw])
        return action

    # -- codeAction/resolve and the command ------------------------------------------------------

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        data = structure_data(action.data)
        edit = await self.compute_edit(data)
        if edit is not None:
            action.edit = edit
        return action

    async def apply_command(self, raw: Any) -> dict[str, bool] | None:
        data = structure_data(raw)
        edit = await self.compute_edit(data)
        if edit is None:
            return None
        applied = await self.host.apply_edit(edit)
        return {"applied": applied}

    async def compute_edit(self, data: ActionData) -> types.WorkspaceEdit | None:
        host, session = self.host, self.host.session
        document = host.documents.get(data.uri)
        if document is None or document.version != data.version:
            self._changed_notice(data.uri)
            return None
        if (
            data.start_line < 0
            or data.end_line >= len(document.lines)
            or data.start_line > data.end_line
        ):
            raise InvalidParams(f"lines {data.start_line}-{data.end_line} are outside the document")
        missing_key = session.missing_key()
        if missing_key is not None:
            host.notices.tell(missing_key)
            return None
        start, end = targets.whole_lines(document, data.start_line, data.end_line)
        original = document.slice(start, end)
        prompt = prompts.edit_prompt(
            task=data.task,
            language=document.language_id,
            path=_file_name(document.uri),
            target=original,
            before="".join(document.lines[max(0, data.start_line - 30) : data.start_line]),
            after="".join(document.lines[data.end_line + 1 : data.end_line + 31]),
            diagnostics=data.diagnostics,
        )
        try:
            client = session.client()
            async with host.work_progress(f"Kestrel: asking {session.provider}"):
                reply = await client.chat(prompt, stream=True)
        except (ProviderError, ConfigurationProblem) as error:
            host.notices.tell(error)
            return None
        except Exception as unexpected:  # a failed action is a notice, never a JSON-RPC error
            log.exception("the %s action failed", data.kind)
            host.notices.tell(ActionCrashed(type(unexpected).__name__))
            return None
        refused = refusal(reply, session.provider, session.settings.reasoning)
        if refused is not None:
            # Cut off, filtered or empty: never an edit. The provider answered, so the state
            # (key, quota, reachability) is unchanged.
            host.notices.tell(refused)
            return None
        host.notices.answered(session.provider)
        current = host.documents.get(data.uri)
        if current is None or current.version != data.version:
            self._changed_notice(data.uri)
            return None
        new_text = replacement_for(reply.text, original)
        edit_range = types.Range(
            start=types.Position(start[0], 0),
            end=types.Position(end[0], document.units(end[0], end[1])),
        )
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=data.uri, version=data.version
                    ),
                    edits=[types.TextEdit(range=edit_range, new_text=new_text)],
                )
            ]
        )

    def _changed_notice(self, uri: str) -> None:
        self.host.notices.tell(FileChanged(_file_name(uri)))
