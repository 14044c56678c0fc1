"""Typed provider errors. Each carries the user-facing notice text of the SPEC's table.

The texts are built only from the provider id, status codes, counts, origins and the provider's
own (already redacted) error message: never from the key.
"""

from __future__ import annotations

from typing import ClassVar, Literal

Severity = Literal["error", "warning", "info"]

DASH = "\u2014"


class ProviderError(Exception):
    """Base class. `state` is the `kestrel/status` state this error moves to (None: unchanged)."""

    state: ClassVar[str | None] = None
    severity: ClassVar[Severity] = "error"

    def __init__(self, provider: str, notice: str) -> None:
        super().__init__(notice)
        self.provider = provider
        self.notice = notice

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.notice!r})"


class MissingKeyError(ProviderError):
    state = "missingKey"

    def __init__(self, provider: str, key_variable: str | None) -> None:
        other = key_variable if key_variable not in (None, "KESTREL_API_KEY") else None
        variables = "KESTREL_API_KEY" + (f" or {other}" if other else "")
        super().__init__(
            provider,
            f"Kestrel: API key is missing or unset for {provider}. Set it with "
            f'"Kestrel: Set API Key" in VS Code, send kestrel.apiKey from your editor\'s '
            f"settings, or set {variables} in the server's environment.",
        )
        self.key_variable = key_variable


class AuthRejectedError(ProviderError):
    state = "rejectedKey"

    def __init__(
        self,
        provider: str,
        status: int,
        *,
        had_worked: bool,
        retries: int,
        server_said: str = "",
    ) -> None:
        if had_worked:
            notice = (
                f"Kestrel: {provider} rejected your API key (HTTP {status}) {DASH} it worked "
                "earlier in this session, so this may be a transient auth/quota issue; retried "
                f"{retries} times with backoff and still failed. Try again shortly."
            )
        else:
            notice = (
                f"Kestrel: {provider} rejected your API key (HTTP {status}). "
                "Check that the key is correct and active."
            )
        if server_said:
            # A gateway's explanation ("key expired", "not allowed for this model") is the
            # user's best clue, so it is quoted after the fixed text.
            notice += f' The server said: "{server_said}"'
        super().__init__(provider, notice)
        self.status = status
        self.had_worked = had_worked
        self.retries = retries


class QuotaExhaustedError(ProviderError):
    state = "quotaExhausted"

    def __init__(self, provider: str, status: int, detail: str = "") -> None:
        notice = (
            f"Kestrel: {provider} says the account's quota or balance is exhausted (HTTP {status})."
        )
        if detail:
            notice += f" {detail}"
        super().__init__(provider, notice)
        self.status = status


class RateLimitedError(ProviderError):
    state = "rateLimited"
    severity = "warning"

    def __init__(self, provider: str, *, retries: int, wait_s: float | None = None) -> None:
        notice = (
            f"Kestrel: {provider} is rate-limiting requests (HTTP 429); retried {retries} times."
        )
        if wait_s is not None:
            notice += f" It asks to wait {wait_s:.0f} s before the next request."
        super().__init__(provider, notice)
        self.retries = retries
        self.wait_s = wait_s


class RetryBudgetExceeded(RateLimitedError):
    """An automatic completion would have waited past its retry budget: give up quietly."""


class ProviderUnavailableError(ProviderError):
    state = "unreachable"

    def __init__(self, provider: str, origin: str, reason: str) -> None:
        reason = reason.rstrip(".")
        super().__init__(provider, f"Kestrel: cannot reach {provider} at {origin}: {reason}.")
        self.origin = origin
        self.reason = reason


class MalformedReplyError(ProviderError):
    """The bytes that came back are not HTTP (a bad status line, framing or encoding)."""

    def __init__(self, provider: str, origin: str, detail: str) -> None:
        super().__init__(
            provider,
            f"Kestrel: the provider's reply was malformed ({provider} at {origin}: {detail}).",
        )
        self.origin = origin


class ProviderResponseError(ProviderError):
    """The provider answered, but not with something usable: an error status, garbage, a cut
    stream or a redirect."""

    def __init__(self, provider: str, status: int, message: str) -> None:
        super().__init__(provider, f"Kestrel: {provider} answered HTTP {status}: {message}")
        self.status = status
        self.message = message


class StreamInterruptedError(ProviderResponseError):
    def __init__(self, provider: str) -> None:
        super().__init__(
            provider, 200, "the reply stream was interrupted before it finished; nothing applied."
        )


class ProviderReportedError(ProviderError):
    """The provider sent an error where its reply should be: an error event inside a stream,
    or an error object in a 200 body. The notice quotes its own message."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(provider, f"Kestrel: {provider} reported an error: {message}")
        self.message = message


class UnfinishedReplyError(ProviderError):
    """The reply stopped for a reason other than "finished" (token limit, content filter,
    refusal): nothing is applied. A warning; the state is unchanged (the provider answered)."""

    severity = "warning"

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        spent_on_reasoning: bool = False,
        may_think: bool = False,
    ) -> None:
        notice = (
            f"Kestrel: {provider} stopped before its reply was complete ({reason}), "
            "so nothing was applied."
        )
        if spent_on_reasoning:
            notice += " The model spent its token budget thinking"
            if may_think:
                notice += '; set kestrel.reasoning to "off" to turn thinking off where it can be.'
            else:
                notice += "."
        super().__init__(provider, notice)
        self.reason = reason


class EmptyReplyError(ProviderError):
    """A finished reply with no code in it once reasoning and fences are removed."""

    severity = "warning"

    def __init__(self, provider: str) -> None:
        super().__init__(
            provider, f"Kestrel: {provider} returned an empty reply, so nothing was applied."
        )
