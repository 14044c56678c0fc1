"""AI completions: inline (ghost text) and classic items, debounced and superseded per document.

A newer request for the same document cancels the older one's provider call; the older request
is answered with an empty result. A client's `$/cancelRequest` is answered with −32800 by pygls.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from lsprotocol import types

from kestrel_lsp.documents import Document, PositionError
from kestrel_lsp.features import prompts
from kestrel_lsp.features.edits import completion_text
from kestrel_lsp.features.host import Host, InvalidParams, open_document
from kestrel_lsp.provider.errors import ProviderError
from kestrel_lsp.session import ConfigurationProblem

log = logging.getLogger(__name__)

AUTOMATIC_RETRY_BUDGET_S = 2.0
PREFIX_LINES = 60
SUFFIX_LINES = 20


@dataclass
class _Pending:
    task: asyncio.Task[str]
    superseded: bool = False


@dataclass
class Completions:
    host: Host
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def _document(self, uri: str) -> Document:
        return open_document(self.host.documents, uri)

    async def inline(self, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        text = await self._suggest(params.text_document.uri, params.position)
        items = [types.InlineCompletionItem(insert_text=text)] if text else []
        return types.InlineCompletionList(items=items)

    async def classic(self, params: types.CompletionParams) -> types.CompletionList:
        if self.host.editor.inline_completion:
            self._document(params.text_document.uri)  # unknown documents still get an error
            return types.CompletionList(is_incomplete=False, items=[])
        text = await self._suggest(params.text_document.uri, params.position)
        if not text:
            return types.CompletionList(is_incomplete=True, items=[])
        first_line = text.strip().split("\n", 1)[0][:60] or text[:60]
        item = types.CompletionItem(
            label=first_line,
            kind=types.CompletionItemKind.Text,
            detail="Kestrel AI",
            insert_text=text,
            text_edit=types.TextEdit(
                range=types.Range(start=params.position, end=params.position), new_text=text
            ),
            sort_text="0",
            filter_text=first_line,
        )
        return types.CompletionList(is_incomplete=True, items=[item])

    async def _suggest(self, uri: str, position: types.Position) -> str:
        session = self.host.session
        document = self._document(uri)
        try:
            line, index = document.offset_of(position.line, position.character)
        except PositionError as exc:
            raise InvalidParams(str(exc)) from None
        if not session.settings.completion.enabled:
            return ""
        if session.missing_key() is not None or session.key_rejected():
            return ""  # told once already; a completion waits for a new key
        prefix = "".join(document.lines[max(0, line - PREFIX_LINES) : line])
        prefix += document.lines[line][:index]
        suffix = document.lines[line][index:]
        suffix += "".join(document.lines[line + 1 : line + 1 + SUFFIX_LINES])
        language = document.language_id

        previous = self._pending.get(uri)
        if previous is not None and not previous.task.done():
            previous.superseded = True
            previous.task.cancel()
        task = asyncio.ensure_future(self._ask(prefix, suffix, language))
        pending = self._pending[uri] = _Pending(task)
        try:
            return await task
        except asyncio.CancelledError:
            if pending.superseded:
                return ""
            task.cancel()
            raise
        finally:
            if self._pending.get(uri) is pending:
                del self._pending[uri]

    async def _ask(self, prefix: str, suffix: str, language: str) -> str:
        session, notices = self.host.session, self.host.notices
        delay = session.settings.completion.debounce_ms / 1000
        if delay > 0:
            await session.sleep(delay)
        try:
            client = session.client()
            if client.supports_fim:
                reply = await client.fill_in_middle(
                    prompts.fim_prompt(prefix, suffix), retry_budget_s=AUTOMATIC_RETRY_BUDGET_S
                )
            else:
                reply = await client.chat(
                    prompts.fim_as_chat(prefix, suffix, language),
                    stream=False,
                    retry_budget_s=AUTOMATIC_RETRY_BUDGET_S,
                )
        except (ProviderError, ConfigurationProblem) as error:
            # Past the retry budget the notice table keeps it quiet: the status says so.
            notices.tell(error, automatic=True)
            return ""
        notices.answered(session.provider)
        return completion_text(reply)
