"""Kestrel's benchmark beside its peers: `python bench/run.py` (`make bench`).

Prints one table, writes bench/results/latest.json and latest.md, and the plots under
docs/bench/. Runs of different servers alternate and figures are medians; compare ratios taken in
the same run, since this machine is shared and noisy. Peers are installed from npm into
${KESTREL_CACHE:-~/.cache/kestrel}/peers on first use; all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import datetime
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import report
import scenarios
from endpoints import BenchEndpoint
from kestrel_lsp.simulator import SimulatorProcess
from lsp_wire import procstat
from servers import Server, all_servers, kestrel_source

BENCH = Path(__file__).resolve().parent

RESULTS = BENCH / "results"
PARTS = ("startup", "didchange", "completion", "burst", "concurrency", "memory")
PLOTS = BENCH.parent / "docs" / "bench"


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _rotate(items: list[Server], k: int) -> list[Server]:
    k %= max(1, len(items))
    return items[k:] + items[:k]


async def _attempt(server: Server, what: str, coro: Any) -> Any:
    try:
        return await coro
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".strip()
        _log(f"    {server.name}: {what} failed: {message[:300]}")
        server.error = server.error or f"{what}: {message[:300]}"
        return None


async def _measure(
    args: argparse.Namespace,
    servers: list[Server],
    live: list[Server],
    results: dict[str, Any],
    slow: SimulatorProcess,
) -> None:
    async with BenchEndpoint("ok") as endpoint:
        # Start-up, idle RSS and round trip: alternate servers, rotating the order each round.
        parts = set(args.parts.split(","))
        _log(f"start-up: {args.rounds} rounds x {len(live)} servers")
        for r in range(args.rounds if "startup" in parts else 0):
            for server in _rotate(live, r):
                if server.error:
                    continue
                figures = await _attempt(server, "start-up", scenarios.startup(server, endpoint))
                if figures:
                    results[server.name].setdefault("startup", []).append(figures)
        live = [s for s in live if not s.error]

        # Large files: fresh process per (server, size), alternating.
        sizes = [2_000, 20_000, 200_000]
        _log(f"didChange: {args.change_rounds} rounds x {sizes} lines")
        for r in range(args.change_rounds if "didchange" in parts else 0):
            for lines in sizes:
                for server in _rotate(live, r):
                    coro = scenarios.did_change(server, endpoint, lines)
                    figures = await _attempt(server, f"didChange {lines}", coro)
                    if figures:
                        results[server.name].setdefault("did_change", []).append(figures)

        completers = [s for s in live if s.completion_method and not s.error]

        _log("completion overhead")
        for r in range(2 if "completion" in parts else 0):
            for server in _rotate(completers, r):
                coro = scenarios.completion_overhead(server, endpoint, samples=args.samples // 2)
                figures = await _attempt(server, "completion overhead", coro)
                if figures:
                    bucket = results[server.name].setdefault("completion", {})
                    for key, value in figures.items():
                        if isinstance(value, list):
                            bucket.setdefault(key, []).extend(value)
                        else:
                            bucket[key] = bucket.get(key, 0) + value

        _log("typing bursts")
        for keystrokes in (12, 50) if "burst" in parts else ():
            for server in completers:
                if server.error:
                    continue
                coro = scenarios.typing_burst(server, endpoint, keystrokes, repeats=args.bursts)
                figures = await _attempt(server, f"burst {keystrokes}", coro)
                if figures:
                    results[server.name].setdefault("burst", []).append(figures)

        kestrel = next((s for s in live if s.name == "kestrel"), None)
        if kestrel is not None and "concurrency" in parts:
            _log("concurrent resolves")
            for warm in (True, False):
                coro = scenarios.concurrent_resolves(kestrel, slow, warm=warm)
                figures = await _attempt(kestrel, "concurrent resolves", coro)
                if figures:
                    key = "concurrency_warm" if warm else "concurrency_cold"
                    results["kestrel"][key] = figures

        _log("memory growth")
        for server in live if "memory" in parts else ():
            if server.error:
                continue
            coro = scenarios.memory_growth(
                server, endpoint, changes=args.changes, completions=args.completions
            )
            figures = await _attempt(server, "memory growth", coro)
            if figures:
                results[server.name]["memory"] = figures


def _compile_kestrel() -> None:
    """Byte-compile Kestrel's sources as pip does for the installed peers: an editable install
    under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at each start-up."""
    compileall.compile_dir(kestrel_source() / "server" / "kestrel_lsp", quiet=1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    _compile_kestrel()
    load_before = procstat.load_average()
    servers = all_servers(include_peers=not args.no_peers)
    if args.only:
        servers = [s for s in servers if s.name in args.only.split(",")]
    for server in servers:
        if server.error:
            _log(f"  {server.label}: n/a — {server.error}")
    live = [s for s in servers if not s.error]
    results: dict[str, Any] = {s.name: {} for s in servers}

    with SimulatorProcess("slow500ms") as slow:
        await _measure(args, servers, live, results, slow)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 1),
        "machine": {
            **procstat.machine(),
            "python": platform.python_version(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in procstat.load_average()],
        },
        "servers": {
            s.name: {"label": s.label, "error": s.error, "notes": s.notes} for s in servers
        },
        "settings": vars(args),
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="start-up runs per server")
    parser.add_argument("--change-rounds", type=int, default=3, help="didChange runs per size")
    parser.add_argument("--samples", type=int, default=300, help="completions timed per server")
    parser.add_argument("--bursts", type=int, default=5, help="bursts per size and server")
    parser.add_argument("--changes", type=int, default=10_000, help="didChange for memory")
    parser.add_argument("--completions", type=int, default=1_000, help="completions for memory")
    parser.add_argument("--no-peers", action="store_true", help="Kestrel and bare pygls only")
    parser.add_argument("--only", help="comma-separated server names (kestrel,pygls,...)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds: a smoke run")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated subset of {','.join(PARTS)}",
    )
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--from-json", metavar="PATH", help="measure nothing: print and plot a saved run"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        summary = report.summarise(data)
        print(report.table(data, summary))
        if not args.no_plots:
            for path in report.plots(data, summary, PLOTS):
                _log(f"plot: {path}")
        return 0
    if args.quick:
        args.rounds, args.change_rounds, args.samples, args.bursts = 2, 1, 60, 2
        args.changes, args.completions = 2_000, 200
    data = asyncio.run(run(args))
    summary = report.summarise(data)
    data["summary"] = summary
    table = report.table(data, summary)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=1) + "\n")
    (RESULTS / "latest.md").write_text(table + "\n")
    if not args.no_plots:
        for path in report.plots(data, summary, PLOTS):
            _log(f"plot: {path}")
    _log(f"done in {data['duration_s']} s; load {data['machine']['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
