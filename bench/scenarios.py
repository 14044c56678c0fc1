"""One function per measurement. Each starts a fresh server process, drives it over stdio with
`LspClient`, and returns plain numbers (seconds, megabytes, counts)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from endpoints import BenchEndpoint
from kestrel_lsp.simulator import SimulatorProcess
from lsp_wire import Answer, LspClient, ServerGone, messages
from servers import Server

ROOT = "/tmp/kestrel-bench-workspace"
URI = f"file://{ROOT}/bench_module.py"
RTT_SAMPLES = 100


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: list[float]) -> float:
    return percentile(values, 50)


_TEMPLATE = (
    "def function_{n}(alpha, beta):",
    '    """Return the combined value of alpha and beta."""',
    "    total = alpha + beta  # the sum, kept for later",
    "    return total * {n}",
    "",
)


def make_document(lines: int) -> str:
    """`lines` lines of plausible Python (about 34 characters a line on average)."""
    out = [_TEMPLATE[i % 5].format(n=i // 5) for i in range(lines)]
    return "\n".join(out) + "\n"


async def started(
    server: Server, endpoint: BenchEndpoint | str, *, debounce_ms: int | None = 0
) -> tuple[LspClient, Answer]:
    url = endpoint if isinstance(endpoint, str) else endpoint.url
    process = server.process(url, debounce_ms=debounce_ms)
    await process.start()
    try:
        params = messages.initialize_params(ROOT, server.initialization_options(url, debounce_ms))
        answer = await process.request("initialize", params, timeout=60)
        if answer.error is not None:
            raise ServerGone(f"initialize failed: {answer.error}")
        process.notify("initialized", {})
        await process.drain()
    except BaseException:
        await process.close(timeout=2)
        raise
    return process, answer


async def barrier(process: LspClient) -> Answer:
    """A request every server answers (an error for an unknown method) after what came before."""
    return await process.request(messages.UNKNOWN_METHOD, {}, timeout=600)


# -- start-up, idle memory, round trip ----------------------------------------------------------


async def startup(server: Server, endpoint: BenchEndpoint) -> dict[str, Any]:
    """Spawn to the `initialize` answer (wall, and the process's CPU at that moment); RSS 1 s
    after `initialized`; then the p50 round trip of an unknown method."""
    process, answer = await started(server, endpoint)
    cpu = process.cpu_s()
    try:
        wall = answer.received - process.spawned_at
        await asyncio.sleep(1.0)
        rss = process.rss_mb()
        rtts = []
        for _ in range(RTT_SAMPLES):
            rtts.append((await barrier(process)).elapsed)
    finally:
        await process.close()
    return {"wall_s": wall, "cpu_s": cpu, "idle_rss_mb": rss, "rtt_p50_s": median(rtts)}


# -- large files: incremental didChange -------------------------------------------------------


async def did_change(
    server: Server, endpoint: BenchEndpoint, lines: int, edits: int = 200
) -> dict[str, Any]:
    """Open a `lines`-line file, then `edits` one-character inserts mid-file sent back to back,
    then one request. Cost per keystroke = (time to that answer - one round trip) / edits."""
    process, _ = await started(server, endpoint)
    try:
        text = make_document(lines)
        process.notify("textDocument/didOpen", messages.did_open(URI, text))
        await barrier(process)
        rtt = median([(await barrier(process)).elapsed for _ in range(20)])
        await asyncio.sleep(0.3)
        rss_open = process.rss_mb()
        mid = lines // 2 + 2  # a "    total = ..." line
        version = 1
        t0 = time.perf_counter()
        for k in range(edits):
            version += 1
            process.notify("textDocument/didChange", messages.insert(URI, version, mid, 4 + k, "x"))
            if k % 50 == 49:
                await process.drain()
        answer = await barrier(process)
        total = answer.received - t0
        await asyncio.sleep(0.3)
        rss_after = process.rss_mb()
    finally:
        await process.close()
    return {
        "lines": lines,
        "per_keystroke_s": max(0.0, total - rtt) / edits,
        "rss_open_mb": rss_open,
        "rss_after_mb": rss_after,
    }


# -- completions ------------------------------------------------------------------------------

_COMPLETION_DOC_LINES = 300


async def _type_and_complete(
    process: LspClient,
    server: Server,
    version: int,
    line: int,
    column: int,
    settle_s: float = 0.0,
) -> Answer:
    """Type one character and ask for a completion after it. With `settle_s`, the keystroke is
    sent that long before the request, so the request's time does not include it."""
    process.notify("textDocument/didChange", messages.insert(URI, version, line, column, "z"))
    if settle_s:
        await process.drain()
        await asyncio.sleep(settle_s)
    assert server.completion_method is not None
    params = messages.inline_params(URI, line, column + 1)
    return await process.request(server.completion_method, params, timeout=30)


async def completion_overhead(
    server: Server, endpoint: BenchEndpoint, samples: int, warmup: int = 30
) -> dict[str, Any]:
    """Type one character, then (3 ms later, so the keystroke is not counted) ask for a
    completion and time the answer; the endpoint answers at once and its own time for that
    request (first byte in to last byte out) is subtracted. Only requests that made exactly one
    provider request count (a peer's cache hit does not)."""
    process, _ = await started(server, endpoint, debounce_ms=0)
    overheads: list[float] = []
    raw: list[float] = []
    endpoint_times: list[float] = []
    skipped = empty = 0
    try:
        process.notify("textDocument/didOpen", messages.did_open(URI, make_document(300)))
        line, column, version = 152, 4, 1  # inside "    total = ...": a plain statement line
        for i in range(warmup + samples):
            before = endpoint.provider_count
            version += 1
            answer = await _type_and_complete(process, server, version, line, column, 0.003)
            column += 1
            if column > 200:
                line, column = line + 5, 4
            await asyncio.sleep(0.002)  # let a late endpoint log line land
            if answer.error is not None:
                raise ServerGone(f"completion failed: {answer.error}")
            if not _has_items(answer.result):
                empty += 1
            if i < warmup:
                continue
            if endpoint.provider_count - before != 1:
                skipped += 1
                continue
            own = endpoint.provider_times[-1]
            raw.append(answer.elapsed)
            endpoint_times.append(own)
            overheads.append(answer.elapsed - own)
    finally:
        await process.close()
    return {
        "overheads_s": overheads,
        "raw_s": raw,
        "endpoint_s": endpoint_times,
        "skipped": skipped,
        "empty": empty,
    }


def _has_items(result: Any) -> bool:
    if isinstance(result, dict):
        return bool(result.get("items"))
    return bool(result)


async def typing_burst(
    server: Server, endpoint: BenchEndpoint, keystrokes: int, repeats: int, interval_s: float = 0.03
) -> dict[str, Any]:
    """`keystrokes` characters at `interval_s`, each followed by a completion request, the
    previous one cancelled with `$/cancelRequest` as VS Code does; shipped debounce settings.
    Counts provider requests per burst and the time from the last keystroke to its answer."""
    process, _ = await started(server, endpoint, debounce_ms=None)
    requests: list[int] = []
    to_suggestion: list[float] = []
    unanswered = 0
    with_items = 0
    try:
        process.notify("textDocument/didOpen", messages.did_open(URI, make_document(300)))
        line, column, version = 152, 4, 1
        version += 1
        await _type_and_complete(process, server, version, line, column)  # warm: connection
        column += 1
        for _ in range(repeats):
            await asyncio.sleep(0.6)  # a pause between bursts, longer than any debounce
            endpoint.reset_counts()
            futures: list[asyncio.Future[Answer]] = []
            previous: int | None = None
            start = time.perf_counter()
            last_sent = start
            for k in range(keystrokes):
                delay = start + k * interval_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                version += 1
                process.notify(
                    "textDocument/didChange", messages.insert(URI, version, line, column, "z")
                )
                column += 1
                if previous is not None:
                    process.cancel(previous)
                assert server.completion_method is not None
                previous, future = process.send_request(
                    server.completion_method, messages.inline_params(URI, line, column)
                )
                await process.drain()
                last_sent = time.perf_counter()
                futures.append(future)
            last = await asyncio.wait_for(futures[-1], 30)
            to_suggestion.append(last.received - last_sent)
            with_items += _has_items(last.result)
            _done, not_done = await asyncio.wait(futures, timeout=5)
            unanswered += len(not_done)
            await asyncio.sleep(0.3)  # a late provider request would still be counted
            requests.append(endpoint.provider_count)
            line, column = line + 5, 4
    finally:
        await process.close()
    return {
        "keystrokes": keystrokes,
        "provider_requests": requests,
        "to_suggestion_s": to_suggestion,
        "unanswered": unanswered,
        "with_items": with_items,
        "repeats": repeats,
    }


# -- concurrency ------------------------------------------------------------------------------


async def concurrent_resolves(
    server: Server, slow: SimulatorProcess, count: int = 50, *, warm: bool = True, rounds: int = 3
) -> dict[str, Any]:
    """`count` simultaneous codeAction/resolve against a provider that takes 500 ms (the
    simulator in a process of its own, as a real provider would be): time from sending them to
    the last answer. Warm: one resolve first, so the key is known-good and the provider client
    is loaded, then `rounds` rounds (the median is reported). Cold: one round in a fresh
    process, where the SPEC has the others wait for the first request's verdict."""
    process, _ = await started(server, slow.url)
    totals: list[float] = []
    edits = requests = 0
    try:
        process.notify("textDocument/didOpen", messages.did_open(URI, make_document(200)))
        position = {"line": 100, "character": 0}
        params = {
            "textDocument": {"uri": URI},
            "range": {"start": position, "end": position},
            "context": {"diagnostics": [], "only": ["refactor.rewrite"]},
        }
        listed = await process.request("textDocument/codeAction", params)
        actions = [a for a in listed.result or [] if "docstring" in str(a.get("kind"))]
        if not actions:
            raise ServerGone(f"no docstring action listed: {listed.result or listed.error}")
        action = actions[0]
        if warm:
            first = await process.request("codeAction/resolve", action, timeout=30)
            if not (first.result or {}).get("edit"):
                raise ServerGone(f"the warm-up resolve returned no edit: {first.result}")
        for _ in range(rounds if warm else 1):
            await asyncio.sleep(0.3)
            slow.clear_requests()
            start = time.perf_counter()
            futures = [process.send_request("codeAction/resolve", action)[1] for _ in range(count)]
            await process.drain()
            answers = await asyncio.wait_for(asyncio.gather(*futures), 120)
            totals.append(max(a.received for a in answers) - start)
            edits = sum(1 for a in answers if (a.result or {}).get("edit"))
            requests = len(slow.requests())
    finally:
        await process.close()
    return {
        "total_s": median(totals),
        "totals_s": totals,
        "with_edit": edits,
        "count": count,
        "provider_requests": requests,
    }


# -- memory growth ------------------------------------------------------------------------------


async def memory_growth(
    server: Server, endpoint: BenchEndpoint, changes: int = 10_000, completions: int = 1_000
) -> dict[str, Any]:
    """RSS after opening a 2k-line file, after `changes` didChange messages, and (servers that
    can complete here) after `completions` completions."""
    process, _ = await started(server, endpoint, debounce_ms=0)
    try:
        process.notify("textDocument/didOpen", messages.did_open(URI, make_document(2000)))
        await barrier(process)
        await asyncio.sleep(0.3)
        base = process.rss_mb()
        version = 1
        line = 1002
        for k in range(changes):
            version += 1
            if k % 200 == 199:  # keep the line short: delete what was typed on it
                end = {"line": line, "character": 4 + 199}
                start = {"line": line, "character": 4}
                change = {
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [{"range": {"start": start, "end": end}, "text": ""}],
                }
                process.notify("textDocument/didChange", change)
            else:
                change = messages.insert(URI, version, line, 4, "y")
                process.notify("textDocument/didChange", change)
            if k % 100 == 99:
                await process.drain()
            if k % 1000 == 999:
                await barrier(process)
        await barrier(process)
        await asyncio.sleep(0.3)
        after_changes = process.rss_mb()
        after_completions = None
        if server.completion_method is not None:
            column = 4
            for i in range(completions):
                version += 1
                await _type_and_complete(process, server, version, line + 5 * (i // 150), column)
                column = 4 if column >= 4 + 149 else column + 1
            await asyncio.sleep(0.3)
            after_completions = process.rss_mb()
    finally:
        await process.close()
    return {
        "base_mb": base,
        "after_changes_mb": after_changes,
        "after_completions_mb": after_completions,
    }
