"""Process figures from /proc: resident memory and CPU time of a process and its descendants."""

from __future__ import annotations

import os


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of the process tree, in bytes (0 for a process that has gone)."""
    total = 0
    for member in tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of the process tree's live threads, in seconds.

    From /proc/PID/task/TID/schedstat (nanoseconds), not /proc/PID/stat (10 ms ticks): start-up
    ratios need better than 10 ms resolution.
    """
    total_ns = 0
    for member in tree(pid):
        try:
            tasks = os.listdir(f"/proc/{member}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{member}/task/{task}/schedstat") as f:
                    total_ns += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total_ns / 1e9


def machine() -> dict[str, str]:
    """What the table's reader needs to know about this machine."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem_gib = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": model, "cores": str(os.cpu_count()), "memory": mem_gib}


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
