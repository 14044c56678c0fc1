"""Figures the reliability suite prints at the end of a run (fault matrix, fuzz counts).

Tests record into `REPORT`; `conftest.pytest_terminal_summary` prints it through pytest's
terminal reporter, so it shows in CI's log with or without `-s`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

KEY_STATES = ("missing", "never worked", "known-good")


@dataclass
class Cell:
    passed: bool
    requests: int
    outcome: str


@dataclass
class Report:
    faults: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    fuzz: Counter[str] = field(default_factory=Counter)
    fuzz_runs: list[str] = field(default_factory=list)
    broken_frames: list[str] = field(default_factory=list)
    hostile: list[str] = field(default_factory=list)

    def record_cell(self, fault: str, key_state: str, cell: Cell) -> None:
        if fault not in self.faults:
            self.faults.append(fault)
        self.cells[(fault, key_state)] = cell

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.cells:
            out += self._matrix()
        if self.fuzz:
            out += ["", "Protocol fuzzing (well-framed messages, hypothesis):"]
            total = self.fuzz["messages"]
            out.append(
                f"  {total} messages in {len(self.fuzz_runs)} server processes "
                f"({self.fuzz['requests']} requests, {self.fuzz['notifications']} notifications, "
                f"{self.fuzz['non_json']} non-JSON bodies); every request answered once"
            )
            kinds = sorted(
                (k[len("kind:") :], v) for k, v in self.fuzz.items() if k.startswith("kind:")
            )
            out.append("  by kind: " + ", ".join(f"{k} {v}" for k, v in kinds))
            answers = sorted(
                (k[len("answer:") :], v) for k, v in self.fuzz.items() if k.startswith("answer:")
            )
            out.append("  answers: " + ", ".join(f"{k} {v}" for k, v in answers))
            for run in self.fuzz_runs:
                out.append(f"  {run}")
        if self.broken_frames:
            out += ["", "Broken frames (one server process each):"]
            out += [f"  {line}" for line in self.broken_frames]
        if self.hostile:
            out += ["", "Hostile providers (through the real server):"]
            out += [f"  {line}" for line in self.hostile]
        return out

    def _matrix(self) -> list[str]:
        header = ["fault", *KEY_STATES]
        rows = [header]
        for fault in self.faults:
            row = [fault]
            for state in KEY_STATES:
                cell = self.cells.get((fault, state))
                if cell is None:
                    row.append("(not run)")
                else:
                    mark = "ok" if cell.passed else "FAIL"
                    row.append(f"{mark}: {cell.requests} req, {cell.outcome}")
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]

        def fmt(row: list[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

        passed = sum(c.passed for c in self.cells.values())
        lines = [
            f"Provider fault matrix ({passed}/{len(self.cells)} cells pass; "
            "req = provider requests the simulator saw for the one explicit action):",
            fmt(rows[0]),
            "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        ]
        lines += [fmt(r) for r in rows[1:]]
        return lines


REPORT = Report()
