"""Settings: layers of plain dicts, merged "last wins" per key, then structured with cattrs.

Layers, in order: defaults < environment < initializationOptions < workspace/configuration <
workspace/didChangeConfiguration. A `null` clears what every client layer set for that key. A
wrongly typed value is reported with its camelCase path and keeps its earlier value.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from kestrel_lsp.provider.presets import PRESETS, PROVIDER_IDS
from kestrel_lsp.setting_values import trimmed_key, wire_problems

Json = dict[str, Any]
Path = tuple[str, ...]
Failure = tuple[Path, str]  # (attribute path, problem)


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


@attrs.frozen
class CompletionSettings:
    enabled: bool = True
    debounce_ms: int = 150


@attrs.frozen
class RetrySettings:
    max_retries: int = 2
    max_auth_retries: int = 2
    initial_delay_ms: int = 500
    max_delay_ms: int = 8000


@attrs.frozen
class HttpSettings:
    proxy: str | None = attrs.field(default=None, repr=False)
    no_proxy: tuple[str, ...] = ()
    ca_certs: str | None = None
    insecure_hosts: tuple[str, ...] = ()


ACTION_WHEN = ("always", "selection", "diagnostics")
MAX_ACTIONS = 20


@attrs.frozen
class CustomAction:
    """One of the user's own AI actions (`kestrel.actions`): offered as `Kestrel: <title>`."""

    title: str
    instruction: str
    when: str = "always"


@attrs.frozen
class Settings:
    provider: str = "deepseek"
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    completion: CompletionSettings = attrs.field(factory=CompletionSettings)
    retry: RetrySettings = attrs.field(factory=RetrySettings)
    request_timeout_ms: int = 30000
    # "off": thinking turned off wherever the provider documents a switch; "provider": the
    # provider's default, with edits given room for the reasoning.
    reasoning: str = "off"
    http: HttpSettings = attrs.field(factory=HttpSettings)
    actions: tuple[CustomAction, ...] = ()


REASONING_MODES = ("off", "provider")
_NON_NEGATIVE = {"debounce_ms", "max_retries", "max_auth_retries", "initial_delay_ms"}
_POSITIVE = {"max_delay_ms", "request_timeout_ms"}


def _strict(kind: type) -> Any:
    def structure(value: Any, _: Any) -> Any:
        # cattrs's default hooks coerce ("false" -> True, 1.9 -> 1): a settings typo must not.
        if type(value) is not kind:
            raise TypeError(f"expected {_type_name(kind)}, got {_json_type(value)}")
        return value

    return structure


def _type_name(kind: type) -> str:
    return {bool: "a boolean", int: "an integer", str: "a string"}.get(kind, kind.__name__)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number with a fraction",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _string_tuple(value: Any, _: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"expected a list of strings, got {_json_type(value)}")
    return tuple(value)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    for kind in (bool, int, str):
        conv.register_structure_hook(kind, _strict(kind))
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _string_tuple)
    for cls in (CompletionSettings, RetrySettings, HttpSettings, CustomAction, Settings):
        renames: dict[str, Any] = {
            a.name: override(rename=camel(a.name)) for a in attrs.fields(cls)
        }
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **renames))
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **renames))
    return conv


CONVERTER = _make_converter()


@dataclass(frozen=True)
class SettingError:
    key: str  # the camelCase path, e.g. "kestrel.completion.debounceMs"
    problem: str
    # Which bad value it was (a digest: the value may be a key), so another bad value for the
    # same key is a new error while the same one, still in its layer, is not.
    value_digest: str = dataclasses.field(default="", repr=False)
    outcome: str = "Its earlier value is kept."

    @property
    def notice(self) -> str:
        return f"Kestrel: setting {self.key} is invalid: {self.problem}. {self.outcome}"


def _failures(
    exc: BaseException, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str]]:
    """(attribute path, problem) for each leaf of a cattrs validation error group."""
    if isinstance(exc, cattrs.ClassValidationError):
        for sub in exc.exceptions:
            notes = [n for n in getattr(sub, "__notes__", []) if hasattr(n, "name")]
            sub_path = path + tuple(n.name for n in notes)
            yield from _failures(sub, sub_path)
    elif isinstance(exc, cattrs.BaseValidationError):
        for sub in exc.exceptions:
            yield from _failures(sub, path)
    else:
        yield path, str(exc)


def _semantic_errors(settings: Settings) -> list[Failure]:
    errors: list[Failure] = []
    if settings.provider not in PROVIDER_IDS:
        errors.append((("provider",), f"expected one of {', '.join(PROVIDER_IDS)}"))
    for group_name in ("completion", "retry"):
        group = getattr(settings, group_name)
        for field in attrs.fields(type(group)):
            value = getattr(group, field.name)
            if field.name in _NON_NEGATIVE and value < 0:
                errors.append(((group_name, field.name), "expected a number of 0 or more"))
            if field.name in _POSITIVE and value <= 0:
                errors.append(((group_name, field.name), "expected a number above 0"))
    if settings.reasoning not in REASONING_MODES:
        errors.append((("reasoning",), 'expected "off" or "provider"'))
    if settings.request_timeout_ms <= 0:
        errors.append((("request_timeout_ms",), "expected a number above 0"))
    return errors + wire_problems(settings.base_url, settings.api_key)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)  # type: ignore[assignment]
    return data


def _set(data: Json, path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[path[-1]] = value


def structure_actions(
    raw: Any, previous: tuple[CustomAction, ...]
) -> tuple[tuple[CustomAction, ...], list[SettingError]]:
    """`kestrel.actions`, entry by entry: a wrong entry is one error naming its path and is
    left out; the valid entries stay. Not a list at all: one error, the earlier list kept."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        problem = f"expected a list of actions, got {_json_type(raw)}"
        return previous, [SettingError("kestrel.actions", problem, _digest(raw))]
    actions: list[CustomAction] = []
    errors: list[SettingError] = []
    if len(raw) > MAX_ACTIONS:
        problem = f"at most {MAX_ACTIONS} actions, got {len(raw)}"
        outcome = f"The first {MAX_ACTIONS} are used."
        errors.append(SettingError("kestrel.actions", problem, _digest(len(raw)), outcome))
    for index, entry in enumerate(raw[:MAX_ACTIONS]):
        path, entry_problem = _action_problem(entry)
        if entry_problem is None:
            actions.append(
                CustomAction(entry["title"], entry["instruction"], entry.get("when", "always"))
            )
        else:
            key = f"kestrel.actions[{index}]{path}"
            left_out = "That action is left out; the others stay."
            errors.append(SettingError(key, entry_problem, _digest(entry), left_out))
    return tuple(actions), errors


def _action_problem(entry: Any) -> tuple[str, str | None]:
    """(".field" or "", the problem) for one `kestrel.actions` entry; problem None when valid."""
    if not isinstance(entry, dict):
        return "", f"expected an object with a title and an instruction, got {_json_type(entry)}"
    for name in ("title", "instruction"):
        value = entry.get(name)
        if name not in entry:
            return f".{name}", "missing (each action needs a title and an instruction)"
        if not isinstance(value, str):
            return f".{name}", f"expected a string, got {_json_type(value)}"
        if not value.strip():
            return f".{name}", "expected a non-empty string"
    when = entry.get("when", "always")
    if when not in ACTION_WHEN:
        return ".when", f"expected one of {', '.join(ACTION_WHEN)}"
    return "", None


def structure(merged: Json, previous: Settings) -> tuple[Settings, list[SettingError]]:
    """Structure `merged` (camelCase); each bad key reverts to its value in `previous`."""
    data = copy.deepcopy(merged)
    actions, errors = structure_actions(data.pop("actions", None), previous.actions)
    earlier = CONVERTER.unstructure(attrs.evolve(previous, actions=()))
    for _ in range(20):  # each round fixes at least one key; 20 is more than there are keys
        failures: list[Failure]
        try:
            settings = CONVERTER.structure(data, Settings)
        except cattrs.ClassValidationError as exc:
            failures = list(_failures(exc))
        else:
            if settings.api_key != trimmed_key(settings.api_key):
                settings = attrs.evolve(settings, api_key=trimmed_key(settings.api_key))
            failures = _semantic_errors(settings)
            if not failures:
                return attrs.evolve(settings, actions=actions), errors
        for path, problem in failures:
            camel_path = tuple(camel(p) for p in path)
            bad_value = _get(data, camel_path) if camel_path else data
            errors.append(
                SettingError("kestrel." + ".".join(camel_path), problem, _digest(bad_value))
            )
            if camel_path:
                _set(data, camel_path, _get(earlier, camel_path))
            else:
                data = copy.deepcopy(earlier)
    return previous, errors


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _merge(into: Json, update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if _is_mapping(value) and _is_mapping(into.get(key)):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _null_paths(
    update: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for key, value in update.items():
        if value is None:
            yield (*prefix, key)
        elif _is_mapping(value):
            yield from _null_paths(value, (*prefix, key))


def _delete(data: Json, path: tuple[str, ...]) -> None:
    for part in path[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            return
        data = child
    data.pop(path[-1], None)


def _without_nulls(update: Mapping[str, Any]) -> Json:
    return {
        k: (_without_nulls(v) if _is_mapping(v) else copy.deepcopy(v))
        for k, v in update.items()
        if v is not None
    }


def environment_layer(env: Mapping[str, str]) -> Json:
    layer: Json = {}
    for variable, key in (
        ("KESTREL_PROVIDER", "provider"),
        ("KESTREL_BASE_URL", "baseUrl"),
        ("KESTREL_MODEL", "model"),
    ):
        if env.get(variable):
            layer[key] = env[variable]
    return layer


class SettingsLayers:
    """The client layers as sent, kept apart so a later partial update keeps earlier keys."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self._environment = environment_layer(self.env)
        self._init: Json = {}
        self._configuration: Json = {}
        self._changes: Json = {}

    def _clear(self, update: Mapping[str, Any]) -> None:
        for path in _null_paths(update):
            for layer in (self._init, self._configuration, self._changes):
                _delete(layer, path)

    def set_initialization_options(self, options: Any) -> None:
        section = unwrap_section(options)
        self._clear(section)
        self._init = _without_nulls(section)

    def set_configuration(self, section: Any) -> None:
        section = unwrap_section(section)
        self._clear(section)
        self._configuration = _without_nulls(section)

    def apply_change(self, section: Any) -> None:
        section = unwrap_section(section)
        self._clear(section)
        _merge(self._changes, _without_nulls(section))

    def merged(self) -> Json:
        result: Json = {}
        for layer in (self._environment, self._init, self._configuration, self._changes):
            _merge(result, layer)
        return result


def unwrap_section(value: Any) -> Json:
    """The `kestrel` object, whether sent bare or as `{"kestrel": {...}}`."""
    if not _is_mapping(value):
        return {}
    if _is_mapping(value.get("kestrel")):
        return dict(value["kestrel"])
    return dict(value)


@dataclass(frozen=True)
class ResolvedKey:
    value: str | None
    source: str | None  # "setting", or the environment variable's name

    def __repr__(self) -> str:
        return f"ResolvedKey(source={self.source!r})"


def resolve_key(settings: Settings, env: Mapping[str, str]) -> ResolvedKey:
    if settings.api_key:
        return ResolvedKey(settings.api_key, "setting")
    preset = PRESETS.get(settings.provider)
    for variable in ("KESTREL_API_KEY", preset.key_variable if preset else None):
        value = (env.get(variable) or "").strip() if variable else ""
        if variable and value:
            return ResolvedKey(value, variable)
    return ResolvedKey(None, None)
