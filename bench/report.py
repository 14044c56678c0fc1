"""Turn raw runs into medians, ratios and SPEC verdicts; print the table; draw the plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenarios import median, percentile

ORDER = ["kestrel", "pygls", "tabby", "copilot"]
SIZES = [2_000, 20_000, 200_000]
STARTUP_RATIO = 1.15
IDLE_RSS_MB = 60
CHANGE_20K_MS, CHANGE_200K_MS, CHANGE_FLATNESS = 1.0, 2.0, 2.0
RSS_GROWTH = 0.10
OVERHEAD_P50_MS = 2.0
RESOLVE_S = 0.7


def _ms(seconds: float) -> float:
    return seconds * 1000


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, res in data["results"].items():
        s: dict[str, Any] = {}
        runs = res.get("startup") or []
        if runs:
            s["startup"] = {
                "runs": len(runs),
                "cpu_median_ms": _ms(median([r["cpu_s"] for r in runs])),
                "wall_min_ms": _ms(min(r["wall_s"] for r in runs)),
                "wall_median_ms": _ms(median([r["wall_s"] for r in runs])),
                "idle_rss_mb": median([r["idle_rss_mb"] for r in runs]),
                "rtt_p50_ms": _ms(median([r["rtt_p50_s"] for r in runs])),
            }
        changes = res.get("did_change") or []
        if changes:
            by_size: dict[str, Any] = {}
            for lines in SIZES:
                runs = [c for c in changes if c["lines"] == lines]
                if not runs:
                    continue
                open_mb = median([c["rss_open_mb"] for c in runs])
                after_mb = median([c["rss_after_mb"] for c in runs])
                by_size[str(lines)] = {
                    "runs": len(runs),
                    "per_keystroke_ms": _ms(median([c["per_keystroke_s"] for c in runs])),
                    "rss_open_mb": open_mb,
                    "rss_after_mb": after_mb,
                    "rss_growth": after_mb / open_mb - 1 if open_mb else None,
                }
            s["did_change"] = by_size
        completion = res.get("completion")
        if completion and completion.get("overheads_s"):
            overheads = completion["overheads_s"]
            s["completion"] = {
                "samples": len(overheads),
                "overhead_p50_ms": _ms(percentile(overheads, 50)),
                "overhead_p99_ms": _ms(percentile(overheads, 99)),
                "round_trip_p50_ms": _ms(percentile(completion["raw_s"], 50)),
                "endpoint_p50_ms": _ms(percentile(completion["endpoint_s"], 50)),
                "skipped": completion.get("skipped", 0),
                "empty": completion.get("empty", 0),
            }
        bursts = res.get("burst") or []
        if bursts:
            s["burst"] = {
                str(b["keystrokes"]): {
                    "requests_median": median([float(x) for x in b["provider_requests"]]),
                    "requests_max": max(b["provider_requests"]),
                    "to_suggestion_ms": _ms(median(b["to_suggestion_s"])),
                    "unanswered": b["unanswered"],
                    "with_items": b["with_items"],
                    "repeats": b["repeats"],
                }
                for b in bursts
            }
        for key in ("concurrency_warm", "concurrency_cold"):
            if key in res:
                s[key] = res[key]
        if "memory" in res:
            m = res["memory"]
            last = m["after_completions_mb"] or m["after_changes_mb"]
            s["memory"] = {**m, "growth_mb": last - m["base_mb"]}
        out[name] = s
    return out


# -- the table ---------------------------------------------------------------------------------


def _get(summary: dict[str, Any], name: str, *path: str) -> Any:
    node: Any = summary.get(name)
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _fmt(value: Any, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if digits == 0 and abs(value) < 10:
            digits = 2 if abs(value) < 1 else 1
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("pass" if ok else "**FAIL**")


def table(data: dict[str, Any], summary: dict[str, Any]) -> str:
    servers = [n for n in ORDER if n in data["servers"]]
    labels = [data["servers"][n]["label"] for n in servers]
    head = ["measure", *labels, "target", "Kestrel"]
    rows: list[list[str]] = []

    def row(measure: str, values: list[str], target: str, ok: bool | None) -> None:
        rows.append([measure, *values, target, _verdict(ok)])

    def cells(*path: str, digits: int = 0, unit: str = "") -> list[str]:
        out = []
        for n in servers:
            error = data["servers"][n]["error"]
            value = _get(summary, n, *path)
            out.append("n/a" if value is None and error else _fmt(value, digits, unit))
        return out

    def ratio(*path: str) -> float | None:
        k, p = _get(summary, "kestrel", *path), _get(summary, "pygls", *path)
        return k / p if k and p else None

    cpu_ratio = ratio("startup", "cpu_median_ms")
    wall_ratio = ratio("startup", "wall_min_ms")
    row(
        "start-up to `initialize` answer, CPU ms (median)",
        cells("startup", "cpu_median_ms"),
        f"≤ {STARTUP_RATIO}× pygls (now {_fmt(cpu_ratio, 3)}×)",
        cpu_ratio <= STARTUP_RATIO if cpu_ratio else None,
    )
    row(
        "start-up to `initialize` answer, wall ms (fastest)",
        cells("startup", "wall_min_ms"),
        f"≤ {STARTUP_RATIO}× pygls (now {_fmt(wall_ratio, 3)}×)",
        wall_ratio <= STARTUP_RATIO if wall_ratio else None,
    )
    row("start-up, wall ms (median)", cells("startup", "wall_median_ms"), "", None)
    idle = _get(summary, "kestrel", "startup", "idle_rss_mb")
    row(
        "idle RSS 1 s after `initialized`, MB",
        cells("startup", "idle_rss_mb"),
        f"≤ {IDLE_RSS_MB} MB",
        idle <= IDLE_RSS_MB if idle is not None else None,
    )
    row("JSON-RPC round trip, unknown method, p50 ms", cells("startup", "rtt_p50_ms"), "", None)
    for lines in SIZES:
        key = str(lines)
        value = _get(summary, "kestrel", "did_change", key, "per_keystroke_ms")
        target, ok = "", None
        if lines == 20_000:
            target = f"≤ {CHANGE_20K_MS} ms"
            ok = value <= CHANGE_20K_MS if value is not None else None
        elif lines == 200_000:
            small = _get(summary, "kestrel", "did_change", "2000", "per_keystroke_ms")
            flat = value / small if value and small else None
            target = f"≤ {CHANGE_200K_MS} ms and ≤ {CHANGE_FLATNESS}× 2k (now {_fmt(flat, 2)}×)"
            ok = (value <= CHANGE_200K_MS and flat <= CHANGE_FLATNESS) if flat else None
        row(
            f"didChange per keystroke, {lines // 1000}k lines, ms",
            cells("did_change", key, "per_keystroke_ms", digits=3),
            target,
            ok,
        )
    row(
        "RSS with the 200k-line file open, MB",
        cells("did_change", "200000", "rss_open_mb"),
        "",
        None,
    )
    growth = _get(summary, "kestrel", "did_change", "200000", "rss_growth")
    row(
        "… after 200 edits, growth",
        [
            _fmt(None if g is None else g * 100, 1, "%")
            for g in (_get(summary, n, "did_change", "200000", "rss_growth") for n in servers)
        ],
        f"≤ {RSS_GROWTH:.0%}",
        growth <= RSS_GROWTH if growth is not None else None,
    )
    k50 = _get(summary, "kestrel", "completion", "overhead_p50_ms")
    t50 = _get(summary, "tabby", "completion", "overhead_p50_ms")
    row(
        "overhead per completion, p50 ms",
        cells("completion", "overhead_p50_ms", digits=2),
        f"≤ {OVERHEAD_P50_MS} ms and below tabby-agent",
        (k50 <= OVERHEAD_P50_MS and (t50 is None or k50 < t50)) if k50 is not None else None,
    )
    row(
        "overhead per completion, p99 ms",
        cells("completion", "overhead_p99_ms", digits=2),
        "",
        None,
    )
    for keys in ("12", "50"):
        most = _get(summary, "kestrel", "burst", keys, "requests_max")
        row(
            f"typing burst, {keys} keys at 30 ms: provider requests (max)",
            cells("burst", keys, "requests_max"),
            "≤ 1",
            most <= 1 if most is not None else None,
        )
        row(
            f"typing burst, {keys} keys: last key → its answer, ms (median)",
            cells("burst", keys, "to_suggestion_ms"),
            "",
            None,
        )
    warm = _get(summary, "kestrel", "concurrency_warm", "total_s")
    row(
        "50 concurrent resolves, 500 ms provider, s (median of 3)",
        cells("concurrency_warm", "total_s", digits=2),
        f"≤ {RESOLVE_S} s",
        warm <= RESOLVE_S if warm is not None else None,
    )
    row(
        "… the same, key's first use (one probe first), s",
        cells("concurrency_cold", "total_s", digits=2),
        "",
        None,
    )
    row("RSS, 2k-line file open, MB", cells("memory", "base_mb"), "", None)
    row("… after 10k didChange, MB", cells("memory", "after_changes_mb"), "", None)
    row("… after 1,000 completions, MB", cells("memory", "after_completions_mb"), "", None)
    row("… growth, MB", cells("memory", "growth_mb", digits=1), "", None)

    lines_out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines_out += ["| " + " | ".join(r) + " |" for r in rows]
    machine = data["machine"]
    notes = [
        f"{data['date']} · {machine['cpu']} · {machine['cores']} cores · {machine['memory']} · "
        f"Python {machine['python']} · load average {machine['load_before'][0]} before, "
        f"{machine['load_after'][0]} after · {data['duration_s']} s",
    ]
    for n in servers:
        info = data["servers"][n]
        if info["error"]:
            notes.append(f"{info['label']}: {info['error']}")
        notes.extend(f"{info['label']}: {note}" for note in info["notes"])
    return "\n".join(lines_out) + "\n\n" + "\n".join(f"- {n}" for n in notes)


# -- plots ---------------------------------------------------------------------------------------


def plots(data: dict[str, Any], summary: dict[str, Any], directory: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install '.[bench]'): no plots", flush=True)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    servers = [n for n in ORDER if n in summary]
    labels = {n: data["servers"][n]["label"] for n in servers}
    short = {n: labels[n].replace("copilot-language-server", "copilot-ls") for n in servers}
    colours = {"kestrel": "#c0392b", "pygls": "#7f8c8d", "tabby": "#2980b9", "copilot": "#8e44ad"}
    written = []

    started = [n for n in servers if "startup" in summary[n]]
    if started:
        fig, axes = plt.subplots(1, 3, figsize=(12, 4))
        panels = [
            ("cpu_median_ms", "CPU to `initialize` answer, ms (median)"),
            ("wall_min_ms", "wall to `initialize` answer, ms (fastest)"),
            ("idle_rss_mb", "idle RSS, MB"),
        ]
        for ax, (key, title) in zip(axes, panels, strict=True):
            values = [summary[n]["startup"][key] for n in started]
            bars = ax.bar(
                [short[n].replace(" ", "\n", 1) for n in started],
                values,
                color=[colours[n] for n in started],
            )
            ax.bar_label(bars, fmt="%.0f", fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
            if key != "idle_rss_mb" and "pygls" in started:
                limit = summary["pygls"]["startup"][key] * STARTUP_RATIO
                ax.axhline(limit, color="black", linestyle="--", linewidth=0.8)
                ax.text(len(started) - 0.6, limit, "1.15× pygls", fontsize=7, va="bottom")
            elif key == "idle_rss_mb":
                ax.axhline(IDLE_RSS_MB, color="black", linestyle="--", linewidth=0.8)
                ax.text(len(started) - 0.6, IDLE_RSS_MB, "60 MB", fontsize=7, va="bottom")
        fig.suptitle(f"Start-up beside the peers ({data['date'][:10]})", fontsize=10)
        fig.tight_layout()
        path = directory / "startup.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    changed = [n for n in servers if "did_change" in summary[n]]
    if changed:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for n in changed:
            points = [
                (int(k), v["per_keystroke_ms"]) for k, v in sorted(summary[n]["did_change"].items())
            ]
            points.sort()
            ax.plot(
                [p[0] for p in points],
                [max(p[1], 1e-3) for p in points],
                marker="o",
                label=labels[n],
                color=colours[n],
            )
        ax.plot([20_000, 200_000], [CHANGE_20K_MS, CHANGE_200K_MS], "k_", markersize=14)
        ax.text(21_000, CHANGE_20K_MS * 1.1, "target: ≤ 1 ms at 20k, ≤ 2 ms at 200k", fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("document size, lines")
        ax.set_ylabel("ms per one-character didChange (median)")
        ax.set_title("Incremental didChange cost as the file grows", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = directory / "didchange.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    completed = [n for n in servers if "completion" in data["results"][n]]
    if completed:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for n in completed:
            values = sorted(_ms(v) for v in data["results"][n]["completion"]["overheads_s"])
            if not values:
                continue
            ys = [(i + 1) / len(values) for i in range(len(values))]
            ax.step(values, ys, where="post", label=labels[n], color=colours[n])
        ax.axvline(OVERHEAD_P50_MS, color="black", linestyle="--", linewidth=0.8)
        ax.text(OVERHEAD_P50_MS, 0.02, " target: p50 ≤ 2 ms", fontsize=7)
        ax.set_xlim(left=0)
        ax.set_xlabel("server overhead per completion, ms (provider's own time subtracted)")
        ax.set_ylabel("fraction of requests")
        ax.set_title("Overhead per completion (CDF)", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = directory / "completion.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
