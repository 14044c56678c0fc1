"""Typed provider errors: what went wrong, as data. The words a user reads are not here: the
notice table (`features/notices.py`) renders each type into its notice and status.

Every field is built from the provider id, status codes, counts, origins and the provider's own
(already redacted) error message: never from the key.
"""

from __future__ import annotations

from typing import Any


class ProviderError(Exception):
    """Base class. `str()` and `repr()` show the fields (for logs), never a notice."""

    def __init__(self, provider: str) -> None:
        super().__init__()
        self.provider = provider

    def _fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __str__(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._fields().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self})"


class MissingKeyError(ProviderError):
    """A keyed provider has no key (or a keyless server answered 401): nothing was sent."""

    def __init__(self, provider: str, key_variable: str | None) -> None:
        super().__init__(provider)
        self.key_variable = key_variable


class AuthRejectedError(ProviderError):
    def __init__(
        self,
        provider: str,
        status: int,
        *,
        had_worked: bool,
        retries: int,
        server_said: str = "",
    ) -> None:
        super().__init__(provider)
        self.status = status
        self.had_worked = had_worked
        self.retries = retries
        self.server_said = server_said  # a gateway's own explanation, quoted in the notice


class QuotaExhaustedError(ProviderError):
    def __init__(self, provider: str, status: int, detail: str = "") -> None:
        super().__init__(provider)
        self.status = status
        self.detail = detail


class RateLimitedError(ProviderError):
    """`wait_s` is set when the provider asked for a longer wait than Kestrel accepts."""

    def __init__(self, provider: str, *, retries: int, wait_s: float | None = None) -> None:
        super().__init__(provider)
        self.retries = retries
        self.wait_s = wait_s


class RetryBudgetExceeded(RateLimitedError):
    """An automatic completion would have waited past its retry budget: give up quietly."""


class ProviderUnavailableError(ProviderError):
    """`reason` in plain words (DNS, refused, timeout, TLS, proxy), from `network.describe`."""

    def __init__(self, provider: str, origin: str, reason: str) -> None:
        super().__init__(provider)
        self.origin = origin
        self.reason = reason.rstrip(".")


class MalformedReplyError(ProviderError):
    """The bytes that came back are not HTTP (a bad status line, framing or encoding)."""

    def __init__(self, provider: str, origin: str, detail: str) -> None:
        super().__init__(provider)
        self.origin = origin
        self.detail = detail


class ProviderResponseError(ProviderError):
    """The provider answered, but not with something usable. `message` is the provider's own
    error message; the subclasses below are the cases Kestrel itself describes."""

    def __init__(self, provider: str, status: int, message: str = "") -> None:
        super().__init__(provider)
        self.status = status
        self.message = message


class StreamInterruptedError(ProviderResponseError):
    """The reply stream was cut after output: nothing is applied."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider, 200)


class RedirectRefusedError(ProviderResponseError):
    """A 3xx: never followed (a redirect must not carry the key elsewhere)."""

    def __init__(self, provider: str, status: int, target_origin: str | None) -> None:
        super().__init__(provider, status)
        self.target_origin = target_origin


class UnreadableReplyError(ProviderResponseError):
    """A 200 whose body is not a reply (not JSON, no choices or content)."""

    def __init__(self, provider: str, why: str) -> None:
        super().__init__(provider, 200)
        self.why = why


class ReplyTooLargeError(ProviderResponseError):
    """A 200 whose body passed a size bound: it was not read."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(provider, 200)
        self.detail = detail


class ProviderReportedError(ProviderError):
    """The provider sent an error where its reply should be: an error event inside a stream,
    or an error object in a 200 body. `message` is its own."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(provider)
        self.message = message


class UnfinishedReplyError(ProviderError):
    """The reply stopped for a reason other than "finished" (token limit, content filter,
    refusal): nothing is applied. `spent_on_reasoning`: the budget went to thinking;
    `may_think`: thinking was left on (setting `reasoning` is "provider")."""

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        spent_on_reasoning: bool = False,
        may_think: bool = False,
    ) -> None:
        super().__init__(provider)
        self.reason = reason
        self.spent_on_reasoning = spent_on_reasoning
        self.may_think = may_think


class EmptyReplyError(ProviderError):
    """A finished reply with no code in it once reasoning and fences are removed."""
