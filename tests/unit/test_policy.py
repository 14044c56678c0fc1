"""The retry policy as tables: pure functions, no sockets, no clock."""

from __future__ import annotations

import email.utils

import pytest

from kestrel_lsp.provider.policy import (
    GiveUp,
    Retry,
    RetrySettings,
    backoff_delay,
    decide,
    is_quota_exhausted,
    parse_retry_after,
    provider_message,
)
from kestrel_lsp.provider.presets import PRESETS

NOW = 1_800_000_000.0
SETTINGS = RetrySettings()


def run(status, *, headers=None, retries=0, auth_retries=0, known_good=False, rand=0.0):
    return decide(
        status=status,
        headers=headers or {},
        retries_made=retries,
        auth_retries_made=auth_retries,
        known_good=known_good,
        settings=SETTINGS,
        now=NOW,
        rand=lambda: rand,
    )


@pytest.mark.parametrize(
    ("status", "known_good", "auth_retries", "expected"),
    [
        (401, False, 0, GiveUp()),
        (403, False, 0, GiveUp()),
        (401, True, 0, Retry(0.5)),
        (403, True, 1, Retry(1.0)),
        (401, True, 2, GiveUp()),
    ],
)
def test_auth_is_retried_only_for_a_known_good_key(status, known_good, auth_retries, expected):
    assert run(status, known_good=known_good, retries=auth_retries, auth_retries=auth_retries) == (
        expected
    )


def test_x_should_retry_never_overrides_the_known_good_rule():
    assert run(401, headers={"x-should-retry": "true"}) == GiveUp()
    assert run(401, headers={"x-should-retry": "false"}, known_good=True) == Retry(0.5)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 529, None])
def test_transient_failures_are_retried_until_max_retries(status):
    assert isinstance(run(status), Retry)
    assert isinstance(run(status, retries=1), Retry)
    assert run(status, retries=2) == GiveUp()


@pytest.mark.parametrize("status", [400, 402, 404, 422])
def test_other_client_errors_are_not_retried(status):
    assert run(status) == GiveUp()


def test_x_should_retry_is_obeyed_for_other_statuses():
    assert isinstance(run(400, headers={"x-should-retry": "true"}), Retry)
    assert run(503, headers={"X-Should-Retry": "false"}) == GiveUp()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "1"}, 1.0),
        ({"Retry-After": "0"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers, NOW) == expected


def test_retry_after_is_used_as_given_and_a_long_wait_gives_up_at_once():
    assert run(429, headers={"retry-after": "1"}) == Retry(1.0)
    assert run(503, headers={"retry-after": "60"}) == Retry(60.0)
    assert run(429, headers={"retry-after": "120"}) == GiveUp(wait_s=120.0)


def test_backoff_doubles_with_jitter_and_is_capped():
    assert [backoff_delay(n, SETTINGS, 0.0) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    assert backoff_delay(0, SETTINGS, 1.0) == pytest.approx(0.375)
    assert run(500, retries=1, auth_retries=1, rand=0.0) == Retry(1.0)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (402, "", True),
        (429, '{"error": {"type": "insufficient_quota"}}', True),
        # A bare "quota" in a 429 is a rate limit (Gemini words its per-minute limits so).
        (429, "You exceeded your current quota, check billing details", False),
        (
            429,
            '[{"error": {"code": 429, "message": "Quota exceeded", '
            '"status": "RESOURCE_EXHAUSTED"}}]',
            False,
        ),
        (429, '{"error": {"message": "Too many requests"}}', False),
        (500, "quota", False),
        # LiteLLM's budget error, in older (400) and newer (429) releases.
        (
            400,
            '{"error": {"message": "Budget has been exceeded!", "type": "budget_exceeded"}}',
            True,
        ),
        (
            429,
            '{"error": {"message": "Budget has been exceeded!", "type": "budget_exceeded"}}',
            True,
        ),
        (500, '{"error": {"message": "x", "type": "budget_exceeded"}}', False),
    ],
)
def test_quota_exhaustion(status, body, expected):
    assert is_quota_exhausted(status, body) is expected


ANTHROPIC_CREDIT = (
    '{"type": "error", "error": {"type": "invalid_request_error", "message": "Your credit '
    "balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade "
    'or purchase credits."}}'
)


@pytest.mark.parametrize(
    ("provider", "status", "body", "expected"),
    [
        ("anthropic", 400, ANTHROPIC_CREDIT, True),
        (
            "anthropic",
            400,
            '{"type": "error", "error": {"type": "invalid_request_error", '
            '"message": "max_tokens: required"}}',
            False,
        ),
        (
            "anthropic",
            402,
            '{"type": "error", "error": {"type": "billing_error", "message": "x"}}',
            True,
        ),
        ("deepseek", 402, '{"error": {"message": "Insufficient Balance"}}', True),
        (
            "openai",
            429,
            '{"error": {"type": "insufficient_quota", "code": "insufficient_quota"}}',
            True,
        ),
        (
            "openai-compatible",
            400,
            '{"error": {"type": "budget_exceeded", "message": "over"}}',
            True,
        ),
        # The credit phrase is Anthropic's: an OpenAI-compatible 400 saying it is not quota.
        ("deepseek", 400, '{"error": {"message": "credit balance is too low"}}', False),
    ],
)
def test_quota_in_each_providers_own_terms(provider, status, body, expected):
    markers = PRESETS[provider].profile.quota_markers
    assert is_quota_exhausted(status, body, markers) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": {"message": "Model not found", "type": "x"}}', "Model not found"),
        ('{"type": "error", "error": {"type": "a", "message": "overloaded"}}', "overloaded"),
        ('{"message": "bad thing"}', "bad thing"),
        ("<html><title>502 Bad Gateway</title></html>", "502 Bad Gateway"),
        ("plain text\nsecond line", "plain text"),
        ("", "(empty error body)"),
        ("x" * 300, "x" * 199 + "…"),
        ('[{"error": {"code": 429, "message": "Resource exhausted"}}]', "Resource exhausted"),
    ],
)
def test_provider_message(body, expected):
    assert provider_message(body) == expected
