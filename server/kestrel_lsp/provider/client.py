"""The provider client: one operation = attempts under the retry policy and the known-good rule.

Imported lazily (it pulls in httpx). The sleep, clock and jitter are injectable so tests assert
the delays requested, never wall-clock time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import EventSource

from kestrel_lsp.provider import wire_anthropic, wire_openai
from kestrel_lsp.provider.auth import AuthTracker, RecoveryOutcome
from kestrel_lsp.provider.errors import (
    AuthRejectedError,
    MissingKeyError,
    ProviderError,
    ProviderReportedError,
    ProviderResponseError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitedError,
    RetryBudgetExceeded,
    StreamInterruptedError,
)
from kestrel_lsp.provider.http import HttpClientFactory, NetworkSetupError, usable_proxy_for
from kestrel_lsp.provider.network import describe, proxy_status_reason
from kestrel_lsp.provider.policy import (
    AUTH_STATUSES,
    GiveUp,
    RetrySettings,
    decide,
    is_quota_exhausted,
    provider_message,
    server_said,
    shorten,
)
from kestrel_lsp.provider.presets import Preset, origin_of
from kestrel_lsp.provider.replies import (
    Reply,
    ReportedError,
    StreamDecoder,
    UnreadableReply,
    feed_all,
    looks_like_event_stream,
    parse_json,
    sse_events,
)
from kestrel_lsp.provider.routing import proxy_origin
from kestrel_lsp.provider.wire import ChatPrompt, FimPrompt, Reasoning, WireRequest
from kestrel_lsp.secrets import SECRETS, redact_provider_text

Sleep = Callable[[float], Awaitable[Any]]
ErrorFactory = Callable[[], ProviderError]


@dataclass(frozen=True)
class ProviderConfig:
    preset: Preset
    base_url: str
    model: str
    key: str | None = field(repr=False)
    retry: RetrySettings = field(default_factory=RetrySettings)
    reasoning: Reasoning = "off"

    @property
    def provider(self) -> str:
        return self.preset.provider


@dataclass(frozen=True)
class _Exchange:
    """A request and how to read its reply: `parse` a whole JSON body, `decoder` a stream."""

    request: WireRequest
    parse: Callable[[Any], Reply]
    decoder: Callable[[], StreamDecoder]


@dataclass
class _Failure(Exception):
    """One attempt failed in a way the policy may retry."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    network: BaseException | None = None
    stream_cut: bool = False
    via_proxy: str | None = None
    reported: str | None = None  # the provider's message from an error inside the reply


@dataclass
class _Attempts:
    retries: int = 0
    auth_retries: int = 0
    waited_s: float = 0.0
    stream_replayed: bool = False
    replayed_after_recovery: bool = False
    leading: bool = False


class ProviderClient:
    def __init__(
        self,
        config: ProviderConfig,
        auth: AuthTracker,
        http: HttpClientFactory,
        *,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.auth = auth
        self._http = http
        self._sleep = sleep
        self._now = now
        self._rand = rand
        self._pool: httpx.AsyncClient | None = None
        # Retired pools still in use by an attempt; each is closed when its last attempt ends.
        self._retired: list[httpx.AsyncClient] = []
        self._leases: dict[httpx.AsyncClient, int] = {}
        self._closing: set[asyncio.Task[None]] = set()
        SECRETS.add(config.key)

    @property
    def supports_fim(self) -> bool:
        return self.config.preset.has_fim

    def single_attempt(self) -> ProviderClient:
        """A client for the same key, provider and base URL (sharing their known-good state)
        that never retries: the setup check's one request. Its connections are its own."""
        no_retries = dataclasses.replace(self.config.retry, max_retries=0, max_auth_retries=0)
        config = dataclasses.replace(self.config, retry=no_retries)
        return ProviderClient(
            config, self.auth, self._http, sleep=self._sleep, now=self._now, rand=self._rand
        )

    # -- public operations -------------------------------------------------------------

    async def chat(
        self, prompt: ChatPrompt, *, stream: bool = True, retry_budget_s: float | None = None
    ) -> Reply:
        """The model's reply. An unfinished or empty reply is returned, not raised: what it
        means (no edit, a shorter completion) is the caller's to decide."""
        cfg = self.config
        profile, reasoning = cfg.preset.profile, cfg.reasoning
        if cfg.preset.wire == "anthropic":
            request = wire_anthropic.messages_request(
                cfg.base_url,
                cfg.model,
                prompt,
                key=cfg.key,
                stream=stream,
                profile=profile,
                reasoning=reasoning,
            )
            return await self._operation(
                _Exchange(
                    request,
                    wire_anthropic.parse_messages_reply,
                    wire_anthropic.MessagesStreamDecoder,
                ),
                retry_budget_s,
            )
        request = wire_openai.chat_request(
            cfg.base_url,
            cfg.model,
            prompt,
            auth=cfg.preset.auth_header,
            key=cfg.key,
            stream=stream,
            profile=profile,
            reasoning=reasoning,
        )
        return await self._operation(
            _Exchange(request, wire_openai.parse_chat_reply, wire_openai.ChatStreamDecoder),
            retry_budget_s,
        )

    async def fill_in_middle(self, prompt: FimPrompt, *, retry_budget_s: float | None) -> Reply:
        cfg = self.config
        request = wire_openai.fim_request(
            cfg.base_url, cfg.model, prompt, auth=cfg.preset.auth_header, key=cfg.key
        )
        return await self._operation(
            _Exchange(request, wire_openai.parse_fim_reply, wire_openai.ChatStreamDecoder),
            retry_budget_s,
        )

    async def aclose(self) -> None:
        clients = [*self._retired, *([self._pool] if self._pool else [])]
        self._pool, self._retired = None, []
        for client in clients:
            await client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # -- one operation ---------------------------------------------------------------------

    async def _operation(self, exchange: _Exchange, retry_budget_s: float | None) -> Reply:
        if self.config.preset.needs_key and not self.config.key:
            raise MissingKeyError(self.config.provider, self.config.preset.key_variable)
        auth = self.auth
        if not auth.known_good:
            rejections_seen = auth.rejections
            async with auth.first_use:
                if not auth.known_good:
                    if auth.rejections != rejections_seen and auth.last_rejection is not None:
                        raise self._copy(auth.last_rejection)
                    return await self._attempts(exchange, retry_budget_s)
        if auth.recovery is not None:
            outcome = await asyncio.shield(auth.recovery)
            if not outcome.ok and outcome.error is not None:
                raise self._copy(outcome.error)
        return await self._attempts(exchange, retry_budget_s)

    async def _attempts(self, exchange: _Exchange, retry_budget_s: float | None) -> Reply:
        auth = self.auth
        state = _Attempts()
        client = self._pooled()
        epoch_at_send = auth.recovery_epoch
        try:
            while True:
                try:
                    reply = await self._send_on(client, exchange)
                except _Failure as failure:
                    if failure.status in AUTH_STATUSES:
                        client = await self._after_auth_failure(failure, state, epoch_at_send)
                    else:
                        client = await self._after_failure(failure, state, retry_budget_s)
                    epoch_at_send = auth.recovery_epoch
                    continue
                if state.leading:
                    state.leading = False
                    self._renew_pool()
                    auth.end_recovery(RecoveryOutcome(ok=True))
                auth.succeeded()
                return reply
        except BaseException as exc:
            if state.leading:
                error = exc if isinstance(exc, ProviderError) else None
                auth.end_recovery(RecoveryOutcome(ok=False, error=error))
            raise

    async def _after_auth_failure(
        self, failure: _Failure, state: _Attempts, epoch_at_send: int
    ) -> httpx.AsyncClient:
        """Decide what follows a 401/403; returns the client for the next attempt or raises."""
        auth = self.auth
        assert failure.status is not None
        if not self.config.key:
            # openai-compatible without a key: the server wants one (the SPEC's missing-key case).
            raise MissingKeyError(self.config.provider, self.config.preset.key_variable)
        if not auth.known_good:
            error = AuthRejectedError(
                self.config.provider,
                failure.status,
                had_worked=False,
                retries=0,
                server_said=self._said(failure.body),
            )
            auth.rejected_never_worked(error)
            raise error
        if not state.leading:
            outcome: RecoveryOutcome | None = None
            if auth.recovery is not None:
                outcome = await asyncio.shield(auth.recovery)
            elif auth.recovery_epoch != epoch_at_send:
                outcome = auth.last_recovery
            if outcome is not None and (outcome.ok or outcome.error is not None):
                if outcome.error is not None:
                    raise self._copy(outcome.error)
                if state.replayed_after_recovery:
                    raise AuthRejectedError(
                        self.config.provider,
                        failure.status,
                        had_worked=True,
                        retries=self.config.retry.max_auth_retries,
                        server_said=self._said(failure.body),
                    )
                state.replayed_after_recovery = True
                return self._pooled()
            state.leading = True
            auth.start_recovery()
        decision = decide(
            status=failure.status,
            headers=failure.headers,
            retries_made=state.retries,
            auth_retries_made=state.auth_retries,
            known_good=True,
            settings=self.config.retry,
            now=self._now(),
            rand=self._rand,
        )
        if isinstance(decision, GiveUp):
            raise AuthRejectedError(
                self.config.provider,
                failure.status,
                had_worked=True,
                retries=state.auth_retries,
                server_said=self._said(failure.body),
            )
        await self._sleep(decision.delay_s)
        state.retries += 1
        state.auth_retries += 1
        state.waited_s += decision.delay_s
        # The pooled connection that got the 401 may be pinned to a bad gateway node.
        return self._http.new_client()

    async def _after_failure(
        self, failure: _Failure, state: _Attempts, retry_budget_s: float | None
    ) -> httpx.AsyncClient:
        provider = self.config.provider
        status = failure.status
        markers = self.config.preset.profile.quota_markers
        if status is not None and is_quota_exhausted(status, failure.body, markers):
            raise QuotaExhaustedError(provider, status, self._message(failure.body))
        if status is not None and 300 <= status < 400:
            target = failure.headers.get("location", "")
            where = f" to {origin_of(target)}" if "://" in target else ""
            raise ProviderResponseError(
                provider, status, f"redirected{where}; Kestrel does not follow redirects."
            )
        if status == 407 and failure.via_proxy:
            # The proxy (not the provider) wants credentials: never a key notice, not retried.
            raise ProviderUnavailableError(
                provider,
                origin_of(self.config.base_url),
                proxy_status_reason(
                    proxy_origin(failure.via_proxy), 407, "Proxy Authentication Required"
                ),
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
        await self._sleep(decision.delay_s)
        state.retries += 1
        state.waited_s += decision.delay_s
        return self._pooled()

    def _final_error(self, failure: _Failure, state: _Attempts, decision: GiveUp) -> ProviderError:
        provider = self.config.provider
        non_auth_retries = state.retries - state.auth_retries
        if failure.stream_cut:
            return StreamInterruptedError(provider)
        if failure.status is None:
            if failure.network is None:
                return ProviderUnavailableError(
                    provider, origin_of(self.config.base_url), "no answer"
                )
            return self._unreachable(failure.network, failure.via_proxy)
        if failure.status == 429:
            return RateLimitedError(provider, retries=non_auth_retries, wait_s=decision.wait_s)
        if failure.reported is not None:
            return ProviderReportedError(provider, failure.reported)
        return ProviderResponseError(provider, failure.status, self._message(failure.body))

    # -- one attempt ------------------------------------------------------------------------

    async def _send(self, client: httpx.AsyncClient, exchange: _Exchange) -> Reply:
        request = exchange.request
        try:
            via = usable_proxy_for(request.url, self._http.settings)
            if not request.stream:
                response = await client.post(
                    request.url, json=request.body, headers=request.headers
                )
                if response.status_code != 200:
                    raise self._status_failure(response, response.text, via)
                return self._whole_body(
                    exchange, response.headers.get("content-type", ""), response.text
                )
            async with client.stream(
                "POST", request.url, json=request.body, headers=request.headers
            ) as response:
                if response.status_code != 200:
                    body = (await response.aread()).decode("utf-8", "replace")
                    raise self._status_failure(response, body, via)
                return await self._read_stream(response, exchange)
        except NetworkSetupError as exc:
            raise self._unreachable(exc, None) from None
        except httpx.ProxyError as exc:
            if str(exc).startswith("407"):
                raise self._unreachable(exc, via) from None
            raise _Failure(status=None, network=exc, via_proxy=via) from None
        except httpx.TransportError as exc:
            raise _Failure(status=None, network=exc, via_proxy=via) from None

    def _unreachable(self, exc: BaseException, via: str | None) -> ProviderUnavailableError:
        origin = origin_of(self.config.base_url)
        return ProviderUnavailableError(self.config.provider, origin, describe(exc, via))

    def _whole_body(self, exchange: _Exchange, content_type: str, body: str) -> Reply:
        """A complete 200 body, read by what it is: JSON (even where a stream was asked for,
        as some gateways and mocks answer) or an event stream (even where JSON was asked)."""
        if "text/event-stream" in content_type or looks_like_event_stream(body):
            decoder = exchange.decoder()
            try:
                events = feed_all(decoder, sse_events(body))
            except ReportedError as exc:
                raise self._reported(exc, any_output=bool(decoder.reply().text)) from None
            except UnreadableReply as exc:
                raise self._unreadable(str(exc)) from None
            return self._stream_end(decoder, events, complete_body=bool(body.strip()))
        data = parse_json(body)
        if data is None:
            kind = content_type.split(";")[0].strip() or "no type"
            raise self._unreadable(f"expected JSON or an event stream, got {kind}")
        try:
            return exchange.parse(data)
        except ReportedError as exc:
            raise self._reported(exc, any_output=False) from None
        except UnreadableReply as exc:
            raise self._unreadable(str(exc)) from None

    async def _read_stream(self, response: httpx.Response, exchange: _Exchange) -> Reply:
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            body = (await response.aread()).decode("utf-8", "replace")
            return self._whole_body(exchange, content_type, body)
        decoder = exchange.decoder()
        output = False
        events = 0
        try:
            async for event in EventSource(response).aiter_sse():
                events += 1
                if decoder.done:
                    continue  # drain to the end so the connection returns to the pool
                output = bool(decoder.feed(event.event, event.data)) or output
        except ReportedError as exc:
            raise self._reported(exc, any_output=output) from None
        except UnreadableReply as exc:
            raise self._unreadable(str(exc)) from None
        except httpx.TransportError as exc:
            if output:
                raise StreamInterruptedError(self.config.provider) from None
            raise _Failure(status=None, network=exc, stream_cut=True) from None
        complete_body = events == 0 and response.num_bytes_downloaded > 0
        if not decoder.done and output:
            raise StreamInterruptedError(self.config.provider)
        return self._stream_end(decoder, events, complete_body=complete_body)

    def _stream_end(self, decoder: StreamDecoder, events: int, *, complete_body: bool) -> Reply:
        """The reply of a stream that was read to its end (or as far as it went)."""
        if not decoder.done:
            if decoder.reply().text:
                raise StreamInterruptedError(self.config.provider)
            if events == 0 and complete_body:
                # A complete body with no event in it is garbage, not a cut: not retried.
                raise self._unreadable("the event stream has no events")
            raise _Failure(status=None, stream_cut=True)
        return decoder.reply()

    def _reported(self, exc: ReportedError, *, any_output: bool) -> Exception:
        """An error the provider sent inside its reply: retried like a 529 before any output;
        after output, the operation ends with the provider's own message."""
        message = redact_provider_text(shorten(exc.message))
        if any_output:
            return ProviderReportedError(self.config.provider, message)
        return _Failure(status=529, reported=message)

    def _unreadable(self, why: str) -> ProviderResponseError:
        return ProviderResponseError(
            self.config.provider, 200, f"the reply could not be read ({why})."
        )

    @staticmethod
    def _status_failure(response: httpx.Response, body: str, via: str | None) -> _Failure:
        return _Failure(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=body,
            via_proxy=via,
        )

    # -- helpers -------------------------------------------------------------------------------

    def _pooled(self) -> httpx.AsyncClient:
        if self._pool is None:
            self._pool = self._http.new_client()
        return self._pool

    def _renew_pool(self) -> None:
        old, self._pool = self._pool, self._http.new_client()
        if old is None:
            return
        if self._leases.get(old):
            self._retired.append(old)  # closed when its last attempt ends
        else:
            self._close_soon(old)

    async def _send_on(self, client: httpx.AsyncClient, exchange: _Exchange) -> Reply:
        """One attempt on `client`. A client that is not the pool (a retry's own connection,
        a retired pool) is closed when the last attempt using it ends, however it ends."""
        self._leases[client] = self._leases.get(client, 0) + 1
        try:
            return await self._send(client, exchange)
        finally:
            left = self._leases.pop(client) - 1
            if left:
                self._leases[client] = left
            elif client is not self._pool:
                self._close_soon(client)

    def _close_soon(self, client: httpx.AsyncClient) -> None:
        if client in self._retired:
            self._retired.remove(client)
        task = asyncio.ensure_future(client.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _message(self, body: str) -> str:
        return redact_provider_text(provider_message(body))

    def _said(self, body: str) -> str:
        return redact_provider_text(server_said(body))

    @staticmethod
    def _copy(error: BaseException) -> ProviderError:
        """A fresh exception with the same notice, so concurrent waiters don't share one."""
        assert isinstance(error, ProviderError)
        clone = ProviderError.__new__(type(error))
        Exception.__init__(clone, error.notice)
        clone.__dict__.update(error.__dict__)
        return clone
