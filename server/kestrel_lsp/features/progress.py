"""Cancellable `$/progress` around an action's provider request."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from lsprotocol import types
from pygls.progress import Progress

log = logging.getLogger(__name__)


@asynccontextmanager
async def work_progress(progress: Progress, title: str) -> AsyncIterator[None]:
    """Report the work as cancellable `$/progress` (the client supports it).

    The token is created alongside the work, not before it: the provider request does not wait
    for the client's answer to `window/workDoneProgress/create` (under 50 concurrent resolves
    that answer came back tens of milliseconds later). `begin` goes out when the client has
    answered; work that finishes first waits for that answer, so the client always sees create,
    begin, end in that order. A cancel from the client cancels the work.
    """
    token = f"kestrel-{uuid.uuid4()}"
    task = asyncio.current_task()
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
