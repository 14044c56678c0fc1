"""Known-good state of one key (with one provider and base URL) in one workspace session.

Also the two pieces of coordination the SPEC asks for:
- first use: until the key has a verdict, one operation at a time talks to the provider;
- recovery: concurrent operations that hit a 401/403 on a known-good key share one retry
  sequence (the leader's), then replay once if it succeeded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

FAILED_OPERATIONS_BEFORE_DISTRUST = 3


@dataclass
class RecoveryOutcome:
    ok: bool
    error: BaseException | None = None


class AuthTracker:
    def __init__(self) -> None:
        self.known_good = False
        # A never-worked key the provider rejected: automatic requests stop until it changes.
        self.rejected = False
        self.failed_operations = 0
        self.first_use = asyncio.Lock()
        # Bumped when a never-worked key is rejected, so operations queued behind the probe
        # fail with its verdict instead of sending a request each.
        self.rejections = 0
        self.last_rejection: BaseException | None = None
        self.recovery: asyncio.Future[RecoveryOutcome] | None = None
        # Bumped when a recovery ends; an operation whose request went out before that reads
        # the outcome instead of starting a sequence of its own.
        self.recovery_epoch = 0
        self.last_recovery: RecoveryOutcome | None = None

    def succeeded(self) -> None:
        self.known_good = True
        self.rejected = False
        self.failed_operations = 0

    def rejected_never_worked(self, error: BaseException) -> None:
        self.rejections += 1
        self.last_rejection = error
        self.rejected = True

    def start_recovery(self) -> None:
        self.recovery = asyncio.get_running_loop().create_future()

    def end_recovery(self, outcome: RecoveryOutcome) -> None:
        if not outcome.ok:
            self.failed_operations += 1
            if self.failed_operations >= FAILED_OPERATIONS_BEFORE_DISTRUST:
                self.known_good = False
                self.failed_operations = 0
        future, self.recovery = self.recovery, None
        self.last_recovery = outcome
        self.recovery_epoch += 1
        if future is not None and not future.done():
            future.set_result(outcome)
