"""Known-good state of one key (with one provider and base URL) in one workspace session, and
the gate every operation with it passes:

- first use: until the key has a verdict, one operation at a time talks to the provider; the
  others wait, and share a rejection instead of sending a request each;
- recovery: operations that meet a 401/403 on a known-good key share one retry sequence, led by
  the first. Its verdict waits for the requests with this key already in flight: if any of them
  succeeds the key is good, and every waiting operation replays once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

FAILED_OPERATIONS_BEFORE_DISTRUST = 3


@dataclass(frozen=True)
class Verdict:
    """What a rejection or a recovery decided. `ok`: the key works."""

    ok: bool
    status: int = 0
    retries: int = 0
    had_worked: bool = True
    said: str = ""  # the server's own explanation of the rejection (redacted), if any


class Recovery:
    """One shared retry sequence. Its verdict is None when the leader stopped for another
    reason (cancelled, a network failure): nothing was decided about the key."""

    def __init__(self) -> None:
        self.verdict: asyncio.Future[Verdict | None] = asyncio.get_running_loop().create_future()
        self.failure: Verdict | None = None  # the leader's sequence failed; in flight may not


class _Queue:
    """Operations that waited behind a never-worked key's first request."""

    rejection: Verdict | None = None


class AuthTracker:
    def __init__(self) -> None:
        self.known_good = False
        # A never-worked key the provider rejected: automatic requests stop until it changes.
        self.rejected = False
        self.failed_operations = 0
        self.recovery: Recovery | None = None
        self.last_recovery: Recovery | None = None
        self._first_use = asyncio.Lock()
        self._queue = _Queue()
        self._in_flight = 0

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[Verdict | None]:
        """Around a whole operation. Yields a rejection to raise instead of sending, or None."""
        if not self.known_good:
            queue = self._queue
            async with self._first_use:
                if not self.known_good:
                    yield queue.rejection
                    return
        recovery = self.recovery
        verdict = await asyncio.shield(recovery.verdict) if recovery is not None else None
        yield verdict if verdict is not None and not verdict.ok else None

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Around one request, until its status is known."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._settle()

    def accepted(self) -> None:
        """The provider answered a request with this key with success."""
        self.known_good = True
        self.rejected = False
        self.failed_operations = 0
        if self.recovery is not None:
            self._conclude(Verdict(ok=True))

    def rejected_never_worked(self, status: int, said: str = "") -> Verdict:
        verdict = Verdict(ok=False, status=status, had_worked=False, said=said)
        self.rejected = True
        self._queue.rejection = verdict
        self._queue = _Queue()
        return verdict

    def recovery_for(self, sent_after: Recovery | None) -> Recovery | None:
        """The recovery a 401 belongs to: the running one, or one that concluded after the
        request went out (`sent_after` was the last concluded one then). None: lead one."""
        if self.recovery is not None:
            return self.recovery
        if self.last_recovery is not sent_after:
            return self.last_recovery
        return None

    def lead(self) -> Recovery:
        self.recovery = Recovery()
        return self.recovery

    async def failed(self, recovery: Recovery, failure: Verdict) -> Verdict | None:
        """The leader's retries are spent. The verdict waits for requests already in flight."""
        if recovery is self.recovery:
            recovery.failure = failure
            self._settle()
        return await asyncio.shield(recovery.verdict)

    def abandon(self, recovery: Recovery) -> None:
        """The leader stopped without a verdict; waiting operations look again."""
        if recovery is self.recovery:
            self._conclude(None)

    def _settle(self) -> None:
        recovery = self.recovery
        if recovery is not None and recovery.failure is not None and self._in_flight == 0:
            self._conclude(recovery.failure)

    def _conclude(self, verdict: Verdict | None) -> None:
        recovery, self.recovery = self.recovery, None
        assert recovery is not None
        self.last_recovery = recovery
        if verdict is not None and not verdict.ok:
            self.failed_operations += 1
            if self.failed_operations >= FAILED_OPERATIONS_BEFORE_DISTRUST:
                self.known_good = False
                self.failed_operations = 0
        recovery.verdict.set_result(verdict)
