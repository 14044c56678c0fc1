"""The setup check's report: what `kestrel.checkSetup` returns, as camelCase JSON.

```
{"ok": bool, "provider": str, "baseUrl": str | null, "model": str | null,
 "keySource": "setting" | "<VARIABLE_NAME>" | null, "proxy": "<origin>" | null,
 "latencyMs": int | null, "summary": str, "text": str,
 "steps": [{"id": "settings" | "key" | "reachable" | "keyAccepted" | "model" | "latency",
            "title": str, "status": "pass" | "fail" | "skip", "detail": str, "fix": str | null}]}
```
The steps always come in that order, all six. `detail` is one sentence; `fix` is one sentence
when the step failed (null otherwise). `text` is the report rendered for people (the summary,
then one ✓/✗/– line per step), what an editor shows as it is. No field ever holds the key or a
proxy password.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

StepId = Literal["settings", "key", "reachable", "keyAccepted", "model", "latency"]
StepStatus = Literal["pass", "fail", "skip"]

TITLES: dict[str, str] = {
    "settings": "Settings valid",
    "key": "API key present",
    "reachable": "Base URL reachable",
    "keyAccepted": "API key accepted",
    "model": "Model known",
    "latency": "Round-trip latency",
}
MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}


@attrs.frozen
class CheckStep:
    id: str
    title: str
    status: StepStatus
    detail: str
    fix: str | None = None

    @classmethod
    def passed(cls, step_id: StepId, detail: str) -> CheckStep:
        return cls(step_id, TITLES[step_id], "pass", detail)

    @classmethod
    def failed(cls, step_id: StepId, detail: str, fix: str) -> CheckStep:
        return cls(step_id, TITLES[step_id], "fail", detail, fix)

    @classmethod
    def skipped(cls, step_id: StepId, because: str) -> CheckStep:
        return cls(step_id, TITLES[step_id], "skip", f"Skipped: {because}.")

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.title}: {self.detail}"
        return f"{text} Fix: {self.fix}" if self.fix else text


@attrs.frozen
class SetupReport:
    ok: bool
    provider: str
    base_url: str | None
    model: str | None
    key_source: str | None
    proxy: str | None
    latency_ms: int | None
    summary: str
    steps: list[CheckStep]

    def first_failure(self) -> CheckStep | None:
        return next((step for step in self.steps if step.status == "fail"), None)

    def text(self) -> str:
        """The report as lines, for a log or an output channel."""
        return "\n".join([self.summary, *(step.line() for step in self.steps)])


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    renames: dict[str, Any] = {
        a.name: override(rename=_camel(a.name)) for a in attrs.fields(SetupReport)
    }
    conv.register_unstructure_hook(
        SetupReport, make_dict_unstructure_fn(SetupReport, conv, **renames)
    )
    return conv


_CONVERTER = _converter()


def to_json(report: SetupReport) -> dict[str, Any]:
    data: dict[str, Any] = _CONVERTER.unstructure(report)
    data["text"] = report.text()
    return data
