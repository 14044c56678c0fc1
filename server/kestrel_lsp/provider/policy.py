"""The retry policy: pure functions of (attempt, status or network error, headers, known-good).

No I/O, no clock of its own: callers pass `now` and `rand`, so tests read as tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import attrs

from kestrel_lsp.provider.presets import (
    GATEWAY_BUDGET,
    INSUFFICIENT_QUOTA,
    PAYMENT_REQUIRED,
    QuotaMarker,
)
from kestrel_lsp.provider.replies import error_codes, error_details, error_message, parse_json
from kestrel_lsp.validators import non_negative, positive

RETRYABLE_STATUSES = frozenset({408, 409, 429})
AUTH_STATUSES = frozenset({401, 403})
MAX_SERVER_WAIT_S = 60.0
DEFAULT_QUOTA_MARKERS = (PAYMENT_REQUIRED, INSUFFICIENT_QUOTA, GATEWAY_BUDGET)


@attrs.frozen
class RetrySettings:
    """The `kestrel.retry` settings, as the policy reads them."""

    max_retries: int = attrs.field(default=2, validator=non_negative)
    max_auth_retries: int = attrs.field(default=2, validator=non_negative)
    initial_delay_ms: int = attrs.field(default=500, validator=non_negative)
    max_delay_ms: int = attrs.field(default=8000, validator=positive)


@dataclass(frozen=True)
class Retry:
    delay_s: float


@dataclass(frozen=True)
class GiveUp:
    """`wait_s` is set when the provider asked for a wait longer than we accept."""

    wait_s: float | None = None


Decision = Retry | GiveUp


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `retry-after` in seconds or as
    an HTTP date (relative to `now`, a POSIX timestamp). None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000.0
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    import email.utils  # only for a date-shaped Retry-After; it pulls in datetime, random, socket

    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed)) - now


def backoff_delay(retries_made: int, settings: RetrySettings, rand: float) -> float:
    """Exponential backoff with jitter: initial * 2**n, capped, minus up to 25%."""
    base = min(settings.initial_delay_ms * (2**retries_made), settings.max_delay_ms) / 1000
    return base * (1.0 - 0.25 * rand)


def is_quota_exhausted(
    status: int, body: str, markers: Sequence[QuotaMarker] = DEFAULT_QUOTA_MARKERS
) -> bool:
    """Whether an error answer says the quota, credit or budget is spent, in the provider's
    own terms (its profile's markers). A 429 that merely mentions "quota" is a rate limit."""
    details = error_details(parse_json(body))
    for marker in markers:
        if marker.statuses is not None and status not in marker.statuses:
            continue
        if marker.code is None and marker.phrase is None:
            return True
        for detail in details:
            if marker.code is not None and marker.code not in error_codes(detail):
                continue
            if marker.phrase is not None and marker.phrase not in error_message(detail).lower():
                continue
            return True
    return False


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def decide(
    *,
    status: int | None,
    headers: Mapping[str, str],
    retries_made: int,
    auth_retries_made: int,
    known_good: bool,
    settings: RetrySettings,
    now: float,
    rand: Callable[[], float],
) -> Decision:
    """Whether to retry one failed attempt, and after how long.

    `status` None means a network error or timeout. `retries_made` counts every retry of this
    operation so far (it drives the backoff); `auth_retries_made` counts the 401/403 ones.
    """
    if status in AUTH_STATUSES:
        # x-should-retry never overrides the known-good rule, in either direction.
        if not known_good or auth_retries_made >= settings.max_auth_retries:
            return GiveUp()
        return Retry(backoff_delay(retries_made, settings, rand()))

    non_auth_retries = retries_made - auth_retries_made
    if non_auth_retries >= settings.max_retries:
        return GiveUp()

    should_retry = {k.lower(): v for k, v in headers.items()}.get("x-should-retry")
    if should_retry == "false":
        return GiveUp()
    if should_retry != "true" and status is not None and not is_retryable_status(status):
        return GiveUp()

    server_wait = parse_retry_after(headers, now) if status is not None else None
    if server_wait is not None and server_wait > MAX_SERVER_WAIT_S:
        return GiveUp(wait_s=server_wait)
    if server_wait is not None and server_wait >= 0:
        return Retry(server_wait)
    return Retry(backoff_delay(retries_made, settings, rand()))


def provider_message(body: str, limit: int = 200) -> str:
    """The provider's own error text: from a JSON error body (an object or a list of them),
    else the first line of text."""
    message = error_message(parse_json(body))
    if not message:
        message = next((line.strip() for line in body.splitlines() if line.strip()), "")
        if message.startswith("<"):
            message = _html_title(body) or "an HTML error page"
    message = " ".join(message.split())
    if not message:
        message = "(empty error body)"
    return shorten(message, limit)


def shorten(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def server_said(body: str) -> str:
    """The message of a JSON error body, or "" (an auth failure quotes only a real message)."""
    message = error_message(parse_json(body))
    return shorten(message) if message.strip() else ""


def _html_title(body: str) -> str:
    lower = body.lower()
    start = lower.find("<title>")
    end = lower.find("</title>")
    if start == -1 or end <= start:
        return ""
    return body[start + len("<title>") : end].strip()
