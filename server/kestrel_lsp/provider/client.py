"""The provider client: one operation = attempts under the retry policy and the known-good rule.

The loop has openai-python's shape: send one attempt; on failure make one decision (retry after a
delay, or give up with the error for the notice); sleep; again. The known-good gate (`auth`)
admits operations and shares one recovery among concurrent 401s. Imported lazily (it pulls in the
transport and h11). The sleep, clock and jitter are injectable so tests assert the delays
requested, never wall-clock time. The caller has registered the key as a secret (the session
does, when it resolves the key), so provider messages that echo it are redacted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import attrs

from kestrel_lsp.provider import read_reply
from kestrel_lsp.provider.auth import AuthTracker, Recovery, Verdict
from kestrel_lsp.provider.errors import (
    AuthRejectedError,
    MalformedReplyError,
    MissingKeyError,
    ProviderError,
    ProviderReportedError,
    ProviderResponseError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitedError,
    RedirectRefusedError,
    ReplyTooLargeError,
    RetryBudgetExceeded,
    StreamInterruptedError,
    UnreadableReplyError,
)
from kestrel_lsp.provider.exchange import Exchange, ProviderConfig, chat_exchange, fim_exchange
from kestrel_lsp.provider.network import describe
from kestrel_lsp.provider.policy import (
    AUTH_STATUSES,
    GiveUp,
    decide,
    is_quota_exhausted,
    provider_message,
    server_said,
    shorten,
)
from kestrel_lsp.provider.presets import origin_of
from kestrel_lsp.provider.replies import Reply, UnreadableReply
from kestrel_lsp.provider.transport.errors import (
    BodyTooLarge,
    MalformedReply,
    NetworkSetupError,
    ProxyRefused,
    TransportError,
)
from kestrel_lsp.provider.transport.http11 import Response
from kestrel_lsp.provider.transport.pool import Transport, TransportFactory
from kestrel_lsp.provider.wire import ChatPrompt, FimPrompt
from kestrel_lsp.secrets import redact_provider_text

Sleep = Callable[[float], Awaitable[Any]]


@dataclass
class _Failure(Exception):
    """One attempt failed in a way the policy may retry."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: str = field(default="", repr=False)
    network: TransportError | None = None
    stream_cut: bool = False
    reported: str | None = None  # the provider's message from an error inside the reply

    def __str__(self) -> str:  # the body may quote the key: never shown
        return f"attempt failed (HTTP {self.status})" if self.status else "attempt failed"


@dataclass
class _Attempts:
    retries: int = 0
    auth_retries: int = 0
    waited_s: float = 0.0
    fresh: bool = False  # met a 401/403: every later attempt goes out on a new connection
    stream_replayed: bool = False
    replayed: bool = False  # replayed once after a shared recovery's verdict
    recovery: Recovery | None = None  # the recovery this operation leads
    sent_after: Recovery | None = None  # the last concluded recovery when the attempt went out


class ProviderClient:
    def __init__(
        self,
        config: ProviderConfig,
        auth: AuthTracker,
        transports: TransportFactory,
        *,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.auth = auth
        self._transports = transports
        self._transport: Transport = transports.new()
        self._sleep = sleep
        self._now = now
        self._rand = rand

    @property
    def supports_fim(self) -> bool:
        return self.config.preset.has_fim

    def single_attempt(self) -> ProviderClient:
        """A client for the same key, provider and base URL (sharing their known-good state)
        that never retries: the setup check's one request. Its connections are its own."""
        no_retries = attrs.evolve(self.config.retry, max_retries=0, max_auth_retries=0)
        config = dataclasses.replace(self.config, retry=no_retries)
        return ProviderClient(
            config, self.auth, self._transports, sleep=self._sleep, now=self._now, rand=self._rand
        )

    async def chat(
        self, prompt: ChatPrompt, *, stream: bool = True, retry_budget_s: float | None = None
    ) -> Reply:
        """The model's reply. An unfinished or empty reply is returned, not raised: what it
        means (no edit, a shorter completion) is the caller's to decide."""
        exchange = chat_exchange(self.config, prompt, stream=stream)
        return await self._operation(exchange, retry_budget_s)

    async def fill_in_middle(self, prompt: FimPrompt, *, retry_budget_s: float | None) -> Reply:
        return await self._operation(fim_exchange(self.config, prompt), retry_budget_s)

    async def aclose(self) -> None:
        await self._transport.aclose()

    # -- one operation: attempts, one decision after each failure ----------------------------

    async def _operation(self, exchange: Exchange, retry_budget_s: float | None) -> Reply:
        missing = self.config.preset.missing_key(self.config.key)
        if missing is not None:
            raise missing
        async with self.auth.admit() as rejection:
            if rejection is not None:
                raise self._rejected(rejection)
            state = _Attempts()
            try:
                while True:
                    try:
                        return await self._attempt(exchange, state)
                    except _Failure as caught:
                        failure = caught  # decided outside `except`: the notice chains nothing
                    if failure.status in AUTH_STATUSES:
                        delay = await self._after_auth_failure(failure, state)
                    else:
                        delay = self._after_failure(failure, state, retry_budget_s)
                    if delay > 0:
                        await self._sleep(delay)
            finally:
                if state.recovery is not None:
                    self.auth.abandon(state.recovery)

    async def _after_auth_failure(self, failure: _Failure, state: _Attempts) -> float:
        """What follows a 401/403: the delay before the next attempt, or raise."""
        assert failure.status is not None
        auth, status = self.auth, failure.status
        if not self.config.key:
            # openai-compatible without a key: the server wants one (the missing-key case).
            raise MissingKeyError(self.config.provider, self.config.preset.key_variable)
        if not auth.known_good:
            raise self._rejected(auth.rejected_never_worked(status, self._said(failure.body)))
        state.fresh = True
        recovery = state.recovery
        while recovery is None or recovery.verdict.done():
            recovery = recovery or auth.recovery_for(state.sent_after)
            if recovery is None:
                state.recovery = recovery = auth.lead()
                self._transport.retire_pool()
                break
            verdict = await asyncio.shield(recovery.verdict)
            state.sent_after, state.recovery, recovery = recovery, None, None
            if verdict is None:
                continue  # the leader stopped without a verdict: look again
            return self._replay_once(verdict, state, failure)
        decision = decide(
            status=status,
            headers=failure.headers,
            retries_made=state.retries,
            auth_retries_made=state.auth_retries,
            known_good=True,
            settings=self.config.retry,
            now=self._now(),
            rand=self._rand,
        )
        if not isinstance(decision, GiveUp):
            state.retries += 1
            state.auth_retries += 1
            state.waited_s += decision.delay_s
            return decision.delay_s
        said = self._said(failure.body)
        failed = Verdict(ok=False, status=status, retries=state.auth_retries, said=said)
        verdict = await auth.failed(recovery, failed)
        state.recovery = None
        if verdict is None or not verdict.ok:
            self._transport.retire_pool()  # the next operation starts on a new connection
        return self._replay_once(verdict or failed, state, failure)

    def _replay_once(self, verdict: Verdict, state: _Attempts, failure: _Failure) -> float:
        """After a shared recovery's verdict: replay once when the key proved good, else raise."""
        if verdict.ok and not state.replayed:
            state.replayed = True
            return 0.0
        if verdict.ok:  # replayed once already, and rejected again
            retries = self.config.retry.max_auth_retries
            said = self._said(failure.body)
            verdict = Verdict(ok=False, status=failure.status or 0, retries=retries, said=said)
        raise self._rejected(verdict)

    def _after_failure(
        self, failure: _Failure, state: _Attempts, retry_budget_s: float | None
    ) -> float:
        provider, status = self.config.provider, failure.status
        markers = self.config.preset.profile.quota_markers
        if status is not None and is_quota_exhausted(status, failure.body, markers):
            raise QuotaExhaustedError(provider, status, self._message(failure.body))
        if status is not None and 300 <= status < 400:
            target = failure.headers.get("location", "")
            raise RedirectRefusedError(
                provider, status, origin_of(target) if "://" in target else None
            )
        if failure.stream_cut:
            if state.stream_replayed:
                raise StreamInterruptedError(provider)
            state.stream_replayed = True
        decision = decide(
            status=status,
            headers=failure.headers,
            retries_made=state.retries,
            auth_retries_made=state.auth_retries,
            known_good=self.auth.known_good,
            settings=self.config.retry,
            now=self._now(),
            rand=self._rand,
        )
        if isinstance(decision, GiveUp):
            raise self._final_error(failure, state, decision)
        if retry_budget_s is not None and state.waited_s + decision.delay_s > retry_budget_s:
            raise RetryBudgetExceeded(provider, retries=state.retries)
        state.retries += 1
        state.waited_s += decision.delay_s
        return decision.delay_s

    def _final_error(self, failure: _Failure, state: _Attempts, decision: GiveUp) -> ProviderError:
        provider = self.config.provider
        if failure.stream_cut:
            return StreamInterruptedError(provider)
        if failure.network is not None:
            return self._unreachable(failure.network)
        if failure.status == 429:
            retries = state.retries - state.auth_retries
            return RateLimitedError(provider, retries=retries, wait_s=decision.wait_s)
        if failure.reported is not None:
            return ProviderReportedError(provider, failure.reported)
        return ProviderResponseError(provider, failure.status or 0, self._message(failure.body))

    # -- one attempt ---------------------------------------------------------------------------

    async def _attempt(self, exchange: Exchange, state: _Attempts) -> Reply:
        state.sent_after = self.auth.last_recovery
        try:
            with self.auth.in_flight():
                response = await self._transport.send(exchange.http, fresh=state.fresh)
                if response.status == 200:
                    self.auth.accepted()
        except TransportError as exc:
            if isinstance(exc, NetworkSetupError) or (
                isinstance(exc, ProxyRefused) and exc.status == 407
            ):
                raise self._unreachable(exc) from None  # settings or proxy credentials
            raise _Failure(status=None, network=exc) from None
        reuse = response.status not in AUTH_STATUSES  # never pool a connection that got a 401
        try:
            if response.status != 200:
                body = (await response.read_prefix()).decode("utf-8", "replace")
                raise _Failure(response.status, response.headers, body)
            return await self._read(response, exchange)
        finally:
            await response.aclose(reuse=reuse)

    async def _read(self, response: Response, exchange: Exchange) -> Reply:
        """The reply (`read_reply`), its failures mapped onto the retry rules."""
        provider = self.config.provider
        try:
            return await read_reply.read(response, exchange)
        except UnreadableReply as exc:
            raise self._unreadable(str(exc)) from None
        except BodyTooLarge as exc:
            raise ReplyTooLargeError(provider, exc.detail) from None
        except read_reply.BrokenReply as broken:
            if broken.reported is not None:
                # An error the provider reported where its reply should be: retried like a 529
                # before any output; after output, the operation ends with its own message.
                message = redact_provider_text(shorten(broken.reported))
                if broken.after_output:
                    raise ProviderReportedError(provider, message) from None
                raise _Failure(status=529, reported=message) from None
            if broken.after_output:
                raise StreamInterruptedError(provider) from None
            raise _Failure(status=None, stream_cut=True) from None
        except TransportError as exc:
            raise _Failure(status=None, network=exc) from None

    # -- errors ---------------------------------------------------------------------------------

    def _rejected(self, verdict: Verdict) -> AuthRejectedError:
        return AuthRejectedError(
            self.config.provider,
            verdict.status,
            had_worked=verdict.had_worked,
            retries=verdict.retries,
            server_said=verdict.said,
        )

    def _unreachable(self, exc: TransportError) -> ProviderError:
        origin = origin_of(self.config.base_url)
        reason = redact_provider_text(describe(exc))
        if isinstance(exc, MalformedReply) and exc.phase == "response":
            return MalformedReplyError(self.config.provider, origin, exc.detail)
        return ProviderUnavailableError(self.config.provider, origin, reason)

    def _unreadable(self, why: str) -> UnreadableReplyError:
        return UnreadableReplyError(self.config.provider, redact_provider_text(why))

    def _message(self, body: str) -> str:
        return redact_provider_text(provider_message(body))

    def _said(self, body: str) -> str:
        return redact_provider_text(server_said(body))


__all__ = ["ProviderClient", "ProviderConfig"]
