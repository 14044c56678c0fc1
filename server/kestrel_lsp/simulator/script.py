"""The fault script: what the simulator answers to each provider request, in arrival order."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Literal, TypeAlias

import attrs

FAULTS = (
    "reset",
    "stall",
    "html",
    "garbage",
    "truncate",
    "truncate-before-output",
    "stream-error",
    "redirect",
)
DEFAULT_STATUS = {"html": 502, "redirect": 307}
DEFAULT_STALL_MS = 60_000

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None


class ScriptError(ValueError):
    """A script that cannot be loaded or does not validate."""


@attrs.frozen
class Step:
    """One scripted answer; `status` None means the fault's own default (200 without a fault)."""

    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: JsonValue = None
    fault: str | None = None
    delay_ms: int = 0
    repeat: int = 1
    reply: str | None = None
    location: str | None = None
    message: str | None = None
    # Replies as real providers send them: a finish reason other than "stop" (the reply is
    # cut to half when it is "length" and no `reply` is given), reasoning in the wire's own
    # place, a `<think>` block before the content, a forced transport (`json` where a stream
    # was asked for, or `stream` where JSON was), or a raw event-stream body (`sse`).
    finish: str | None = None
    reasoning: str | None = None
    think: str | None = None
    transport: str | None = None
    sse: str | None = None

    @property
    def effective_status(self) -> int:
        if self.status is not None:
            return self.status
        return DEFAULT_STATUS.get(self.fault or "", 200)


@attrs.frozen
class Script:
    steps: tuple[Step, ...] = ()
    then: Step | Literal["cycle"] = Step()
    accept_keys: frozenset[str] | None = attrs.field(default=None, repr=False)
    require_key: bool = True
    reply: str | None = None
    latency_ms: int = 0
    description: str | None = None
    # Provider requests (numbered by arrival, from 1) held `late_ms` before they take a step,
    # as a busy client's or network's late requests reach a gateway after later ones.
    late_arrivals: frozenset[int] = frozenset()
    late_ms: int = 1000


_STEP_KEYS = {f.name for f in attrs.fields(Step)}
_SCRIPT_KEYS = {f.name for f in attrs.fields(Script)}


def _int(value: object, where: str, minimum: int = 0, maximum: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        limits = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ScriptError(f"{where}: expected an integer {limits}, got {value!r}")
    return value


def _opt_str(value: object, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ScriptError(f"{where}: expected a string or null, got {value!r}")
    return value


def _headers(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise ScriptError(f"{where}: expected an object of header names to values")
    pairs = []
    for name, header_value in value.items():
        if isinstance(header_value, bool) or not isinstance(header_value, (str, int, float)):
            raise ScriptError(f"{where}.{name}: expected a string or number")
        pairs.append((str(name), str(header_value)))
    return tuple(pairs)


def parse_step(data: object, where: str) -> Step:
    """A step is an object, or a bare integer as shorthand for `{"status": N}`."""
    if isinstance(data, int) and not isinstance(data, bool):
        data = {"status": data}
    if not isinstance(data, Mapping):
        raise ScriptError(f"{where}: expected a step object or a status number, got {data!r}")
    unknown = set(data) - _STEP_KEYS
    if unknown:
        raise ScriptError(f"{where}: unknown key(s) {sorted(unknown)}")
    fault = _opt_str(data.get("fault"), f"{where}.fault")
    if fault is not None and fault not in FAULTS:
        raise ScriptError(f"{where}.fault: unknown fault {fault!r}; expected one of {FAULTS}")
    status = data.get("status")
    return Step(
        status=None if status is None else _int(status, f"{where}.status", 200, 599),
        headers=_headers(data.get("headers", {}), f"{where}.headers"),
        body=data.get("body"),
        fault=fault,
        delay_ms=_int(
            data.get("delay_ms", DEFAULT_STALL_MS if fault == "stall" else 0),
            f"{where}.delay_ms",
        ),
        repeat=_int(data.get("repeat", 1), f"{where}.repeat", minimum=1),
        reply=_opt_str(data.get("reply"), f"{where}.reply"),
        location=_opt_str(data.get("location"), f"{where}.location"),
        message=_opt_str(data.get("message"), f"{where}.message"),
        finish=_opt_str(data.get("finish"), f"{where}.finish"),
        reasoning=_opt_str(data.get("reasoning"), f"{where}.reasoning"),
        think=_opt_str(data.get("think"), f"{where}.think"),
        transport=_transport(data.get("transport"), f"{where}.transport"),
        sse=_opt_str(data.get("sse"), f"{where}.sse"),
    )


def _transport(value: object, where: str) -> str | None:
    if value not in (None, "json", "stream"):
        raise ScriptError(f'{where}: expected "json", "stream" or null, got {value!r}')
    return value


def parse_script(data: object) -> Script:
    if not isinstance(data, Mapping):
        raise ScriptError("a script must be a JSON object")
    unknown = set(data) - _SCRIPT_KEYS
    if unknown:
        raise ScriptError(f"unknown script key(s) {sorted(unknown)}")
    steps = data.get("steps", [])
    if not isinstance(steps, list):
        raise ScriptError("steps: expected a list")
    then_data = data.get("then", {})
    accept_keys = data.get("accept_keys")
    if accept_keys is not None and (
        not isinstance(accept_keys, list) or not all(isinstance(k, str) for k in accept_keys)
    ):
        raise ScriptError("accept_keys: expected a list of strings or null")
    require_key = data.get("require_key", True)
    if not isinstance(require_key, bool):
        raise ScriptError("require_key: expected true or false")
    late = data.get("late_arrivals", [])
    if not isinstance(late, list):
        raise ScriptError("late_arrivals: expected a list of request numbers")
    return Script(
        steps=tuple(parse_step(step, f"steps[{i}]") for i, step in enumerate(steps)),
        then="cycle" if then_data == "cycle" else parse_step(then_data, "then"),
        accept_keys=None if accept_keys is None else frozenset(accept_keys),
        require_key=require_key,
        reply=_opt_str(data.get("reply"), "reply"),
        latency_ms=_int(data.get("latency_ms", 0), "latency_ms"),
        description=_opt_str(data.get("description"), "description"),
        late_arrivals=frozenset(
            _int(n, f"late_arrivals[{i}]", minimum=1) for i, n in enumerate(late)
        ),
        late_ms=_int(data.get("late_ms", 1000), "late_ms"),
    )


def named_scripts() -> list[str]:
    folder = resources.files("kestrel_lsp.simulator") / "scripts"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_script(name_or_path: str) -> Script:
    """A named script shipped in the package, or else the path of a JSON file."""
    if name_or_path in named_scripts():
        resource = resources.files("kestrel_lsp.simulator") / "scripts" / f"{name_or_path}.json"
        text = resource.read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ScriptError(
                f"no script named {name_or_path!r} and no such file; "
                f"named scripts: {', '.join(named_scripts())}"
            )
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{name_or_path}: not JSON ({exc})") from None
    return parse_script(data)


def coerce_script(script: Script | str | Mapping[str, object]) -> Script:
    """Accept a Script, a script name or path, or the JSON object (`{"name": N}` names one)."""
    if isinstance(script, Script):
        return script
    if isinstance(script, str):
        return load_script(script)
    if set(script) == {"name"}:
        name = script["name"]
        if not isinstance(name, str) or name not in named_scripts():
            raise ScriptError(f"no script named {name!r}; named scripts: {named_scripts()}")
        return load_script(name)
    return parse_script(script)


class ScriptPlayer:
    """Hands out the script's steps one per request, honouring `repeat` and `then`."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._index = 0
        self._used = 0

    def next_step(self) -> Step:
        steps = self.script.steps
        if self._index >= len(steps) and self.script.then == "cycle" and steps:
            self._index = 0
        if self._index >= len(steps):
            then = self.script.then
            return Step() if then == "cycle" else then
        step = steps[self._index]
        self._used += 1
        if self._used >= step.repeat:
            self._index += 1
            self._used = 0
        return step
