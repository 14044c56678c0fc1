"""The provider client against a fake transport: the known-good rule, coalescing, the
connection rules after a 401, errors."""

from __future__ import annotations

import asyncio

import pytest

from kestrel_lsp.features.notices import notice_text
from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.errors import (
    AuthRejectedError,
    MissingKeyError,
    ProviderResponseError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitedError,
    RetryBudgetExceeded,
    StreamInterruptedError,
)
from kestrel_lsp.provider.transport.errors import ConnectFailure
from kestrel_lsp.provider.wire import ChatPrompt

from provider_fakes import (
    CANARY,
    RecordingSleep,
    Reply,
    Script,
    chunk,
    json_reply,
    make_client,
    ok_chat,
    raising,
    sse,
    status,
)

PROMPT = ChatPrompt(system="s", user="u")


async def chat(client, **kw):
    return (await client.chat(PROMPT, stream=False, **kw)).text


async def test_missing_key_sends_nothing():
    script = Script([])
    with pytest.raises(MissingKeyError) as err:
        await chat(make_client(script, key=None))
    assert script.requests == []
    assert notice_text(err.value).startswith("Kestrel: API key is missing or unset for deepseek.")


async def test_never_worked_key_gets_exactly_one_request():
    script = Script([], then=lambda: status(401))
    with pytest.raises(AuthRejectedError) as err:
        await chat(make_client(script))
    assert len(script.requests) == 1
    assert notice_text(err.value) == (
        "Kestrel: deepseek rejected your API key (HTTP 401). Check that the key is correct and "
        'active. The server said: "status 401"'
    )


async def test_known_good_transient_401_recovers_with_backoff_on_new_connections():
    sleep = RecordingSleep()
    script = Script([ok_chat(), status(401), status(401)])
    client = make_client(script, sleep=sleep)
    assert await chat(client) == "hello"
    assert await chat(client) == "hello"
    assert len(script.requests) == 4  # 1 warm-up + 3
    assert sleep.delays == [0.5, 1.0]
    # the 401 came on the pooled connection; each retry went out on a new one, never reused
    assert [sent.connection for sent in script.requests] == [1, 1, 2, 3]
    assert [sent.fresh for sent in script.requests] == [False, False, True, True]
    assert script.retired == 1  # the pool that carried the 401 was retired
    assert await chat(client) == "hello"  # the connection that recovered is kept
    assert script.requests[-1].connection == 3


async def test_known_good_persistent_401_gives_up_after_three_requests():
    script = Script([ok_chat()], then=lambda: status(403))
    client = make_client(script)
    await chat(client)
    with pytest.raises(AuthRejectedError) as err:
        await chat(client)
    assert len(script.requests) == 4
    assert err.value.had_worked and err.value.retries == 2
    assert notice_text(err.value).startswith(
        "Kestrel: deepseek rejected your API key (HTTP 403) \u2014 it worked earlier in this "
        "session, so this may be a transient auth/quota issue; retried 2 times with backoff "
        "and still failed. Try again shortly."
    )


async def test_three_failed_operations_in_a_row_end_known_good():
    script = Script([ok_chat()], then=lambda: status(401))
    client = make_client(script)
    await chat(client)
    for _ in range(3):
        with pytest.raises(AuthRejectedError):
            await chat(client)
    assert len(script.requests) == 1 + 9
    with pytest.raises(AuthRejectedError) as err:
        await chat(client)
    assert len(script.requests) == 11
    assert not err.value.had_worked


async def test_changing_the_key_means_a_fresh_tracker():
    first = Script([ok_chat()], then=lambda: status(401))
    tracker = AuthTracker()
    await chat(make_client(first, auth=tracker))
    assert tracker.known_good
    # The session gives a new key a new tracker: one request only.
    second = Script([], then=lambda: status(401))
    with pytest.raises(AuthRejectedError):
        await chat(make_client(second, auth=AuthTracker(), key="sk-other-key-123456"))
    assert len(second.requests) == 1


async def test_rate_limit_honours_retry_after():
    sleep = RecordingSleep()
    script = Script([status(429, **{"retry-after": "1"})])
    assert await chat(make_client(script, sleep=sleep)) == "hello"
    assert sleep.delays == [1.0]


async def test_rate_limit_with_long_wait_gives_up_at_once():
    script = Script([status(429, **{"retry-after": "120"})])
    with pytest.raises(RateLimitedError) as err:
        await chat(make_client(script))
    assert len(script.requests) == 1
    assert notice_text(err.value).startswith(
        "Kestrel: deepseek is rate-limiting requests (HTTP 429); retried 0 times."
    )
    assert "120 s" in notice_text(err.value)


async def test_server_errors_are_retried_then_reported_with_the_providers_text():
    script = Script([], then=lambda: status(503))
    sleep = RecordingSleep()
    with pytest.raises(ProviderResponseError) as err:
        await chat(make_client(script, sleep=sleep))
    assert len(script.requests) == 3
    assert sleep.delays == [0.5, 1.0]
    assert notice_text(err.value) == "Kestrel: deepseek answered HTTP 503: status 503"


async def test_network_errors_become_unreachable_after_retries():
    script = Script([], then=raising(ConnectFailure("refused", "connection refused")))
    with pytest.raises(ProviderUnavailableError) as err:
        await chat(make_client(script))
    assert len(script.requests) == 3
    assert notice_text(err.value) == (
        "Kestrel: cannot reach deepseek at http://sim.kestrel.test: connection refused."
    )


async def test_quota_is_not_retried():
    body = {"error": {"message": "You exceeded your quota", "type": "insufficient_quota"}}
    script = Script([json_reply(429, body)])
    with pytest.raises(QuotaExhaustedError) as err:
        await chat(make_client(script))
    assert len(script.requests) == 1
    assert notice_text(err.value).startswith(
        "Kestrel: deepseek says the account's quota or balance is exhausted (HTTP 429)."
    )


async def test_garbage_200_is_a_provider_error_not_retried():
    script = Script([Reply(200, {"content-type": "text/html"}, b"<html>oops</html>")])
    with pytest.raises(ProviderResponseError) as err:
        await chat(make_client(script))
    assert len(script.requests) == 1
    assert "could not be read" in notice_text(err.value)


async def test_redirect_is_not_followed_and_names_only_the_origin():
    script = Script([Reply(307, {"location": "https://evil.example/steal?x=1"})])
    with pytest.raises(ProviderResponseError) as err:
        await chat(make_client(script))
    assert len(script.requests) == 1
    assert "https://evil.example;" in notice_text(err.value) and "steal" not in notice_text(
        err.value
    )


async def test_stream_happy_path_and_truncation():
    good = Script([sse(chunk("a"), chunk("b"), "[DONE]")])
    assert (await make_client(good).chat(PROMPT)).text == "ab"
    cut = Script([sse(chunk("a"), chunk("b"))])
    with pytest.raises(StreamInterruptedError):
        await make_client(cut).chat(PROMPT)
    assert len(cut.requests) == 1


async def test_stream_cut_before_output_is_replayed_once():
    script = Script([sse(), sse()], then=lambda: sse(chunk("x"), "[DONE]"))
    with pytest.raises(StreamInterruptedError):
        await make_client(script).chat(PROMPT)
    assert len(script.requests) == 2
    once = Script([sse()], then=lambda: sse(chunk("x"), "[DONE]"))
    assert (await make_client(once).chat(PROMPT)).text == "x"


async def test_stream_error_event_before_output_counts_as_529():
    err_event = '{"error": {"message": "overloaded"}}'
    script = Script([sse(err_event)], then=lambda: sse(chunk("ok"), "[DONE]"))
    sleep = RecordingSleep()
    assert (await make_client(script, sleep=sleep).chat(PROMPT)).text == "ok"
    assert sleep.delays == [0.5]


async def test_retry_budget_for_automatic_completions():
    script = Script([status(429, **{"retry-after": "3"})])
    with pytest.raises(RetryBudgetExceeded):
        await chat(make_client(script), retry_budget_s=2.0)
    assert len(script.requests) == 1


async def test_cancellation_ends_the_backoff_sleep():
    started = asyncio.Event()

    async def forever(_delay: float) -> None:
        started.set()
        await asyncio.Event().wait()

    script = Script([status(500)])
    client = make_client(script)
    client._sleep = forever
    task = asyncio.create_task(chat(client))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(script.requests) == 1


async def test_first_use_lets_one_request_through_and_waiters_share_a_rejection():
    gate = asyncio.Event()
    script = Script([], then=lambda: status(401), gate=gate)
    client = make_client(script)
    tasks = [asyncio.create_task(chat(client)) for _ in range(10)]
    await script.wait_for_requests(1)  # the other nine are queued behind the probe by now
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, AuthRejectedError) and not r.had_worked for r in results)
    assert len(script.requests) == 1


async def test_coalescing_persistent_401_costs_n_plus_max_auth_retries():
    script = Script([ok_chat()], then=lambda: status(401))
    client = make_client(script)
    await chat(client)
    script.requests.clear()
    script.steps = []
    script.gate = asyncio.Event()
    tasks = [asyncio.create_task(chat(client)) for _ in range(10)]
    await script.wait_for_requests(10)
    script.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, AuthRejectedError) and r.had_worked for r in results)
    assert len(script.requests) == 12


async def test_coalescing_when_the_probe_succeeds_the_others_replay():
    gate = asyncio.Event()
    script = Script([ok_chat()])
    client = make_client(script)
    await chat(client)
    script.requests.clear()
    # the first 10 requests (one per operation) get 401, then the leader's retries decide
    script.steps = [*[status(401)] * 10, status(401), ok_chat()]
    script.gate = gate
    tasks = [asyncio.create_task(chat(client)) for _ in range(10)]
    await script.wait_for_requests(10)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert results == ["hello"] * 10
    assert len(script.requests) <= 2 * 10 + 2 - 1
    assert len(script.requests) == 21


async def test_the_key_is_in_no_error_text_or_repr():
    body = {"error": {"message": f"Incorrect API key provided: {CANARY}; sk-pr****{CANARY[-4:]}"}}
    script = Script([json_reply(400, body)])
    with pytest.raises(ProviderResponseError) as err:
        await chat(make_client(script))
    for text in (
        str(err.value),
        repr(err.value),
        notice_text(err.value),
        repr(make_client(script)),
    ):
        assert CANARY not in text and CANARY[-4:] not in text
    assert "[redacted]" in notice_text(err.value)


class WatchedTracker(AuthTracker):
    """Tells the test when the leader of a recovery has spent its retries."""

    def __init__(self) -> None:
        super().__init__()
        self.leader_failed = asyncio.Event()

    async def failed(self, recovery, failure):
        self.leader_failed.set()
        return await super().failed(recovery, failure)


async def test_the_verdict_waits_for_requests_already_in_flight():
    """Two of ten 401-burst requests are answered late, with 200: the leader's retries have
    failed by then, but the verdict waits for them, and every operation then edits."""
    tracker = WatchedTracker()
    late = asyncio.Event()
    script = Script(
        [ok_chat(), *[status(401)] * 8, ok_chat(), ok_chat(), status(401), status(401)],
        hold={9: late, 10: late},
    )
    client = make_client(script, auth=tracker)
    await chat(client)
    script.gate = asyncio.Event()
    tasks = [asyncio.create_task(chat(client)) for _ in range(10)]
    await script.wait_for_requests(11)
    script.gate.set()
    await tracker.leader_failed.wait()
    assert len(script.requests) == 13  # warm-up, ten, the leader's two retries
    assert tracker.recovery is not None  # no verdict yet: two requests are still in flight
    late.set()
    assert await asyncio.gather(*tasks) == ["hello"] * 10
    burst = len(script.requests) - 1
    assert burst == 10 + 2 + 8 <= 2 * 10 + 2 - 1  # the leader and seven waiters replayed
    assert tracker.known_good and tracker.failed_operations == 0
    assert script.retired == 1  # at the recovery's start; a good verdict retires nothing more


async def test_after_a_401_every_attempt_goes_out_on_a_new_connection():
    sleep = RecordingSleep()
    script = Script([ok_chat(), status(401), status(429), status(503)])
    client = make_client(script, sleep=sleep)
    await chat(client)
    assert await chat(client) == "hello"
    assert [s.connection for s in script.requests] == [1, 1, 2, 3, 4]
    assert [s.fresh for s in script.requests] == [False, False, True, True, True]
    assert sleep.delays == [0.5, 1.0, 2.0]


async def test_a_429_without_a_401_stays_on_the_pooled_connection():
    script = Script([ok_chat(), status(429)])
    client = make_client(script)
    await chat(client)
    await chat(client)
    assert [s.connection for s in script.requests] == [1, 1, 1]


async def test_after_a_failed_recovery_the_next_operation_starts_on_a_new_connection():
    script = Script([ok_chat(), status(401), status(401), status(401)])
    client = make_client(script)
    await chat(client)
    with pytest.raises(AuthRejectedError):
        await chat(client)
    assert await chat(client) == "hello"
    used = [s.connection for s in script.requests]
    assert used[-1] not in used[:-1] and not script.requests[-1].fresh
    assert script.retired == 2  # at the recovery's start and after its failure


async def test_a_cancelled_leader_hands_the_recovery_over():
    leader_sleeping = asyncio.Event()
    calls: list[float] = []

    async def sleep(delay: float) -> None:
        calls.append(delay)
        if len(calls) == 1:
            leader_sleeping.set()
            await asyncio.Event().wait()

    script = Script([ok_chat(), status(401), status(401), status(401)])
    client = make_client(script)
    client._sleep = sleep
    await chat(client)
    script.gate = asyncio.Event()
    tasks = [asyncio.create_task(chat(client)) for _ in range(3)]
    await script.wait_for_requests(4)
    script.gate.set()
    await leader_sleeping.wait()
    leader = next(t for t in tasks if not t.done() and client.auth.recovery is not None)
    leader.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 1
    assert sorted(r for r in results if isinstance(r, str)) == ["hello", "hello"]
    assert client.auth.failed_operations == 0
