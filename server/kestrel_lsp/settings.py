"""Settings: the merged layers (`settings_layers`) structured into attrs classes with cattrs.

Every value is checked in one pass: cattrs structures each field strictly (no coercion) and runs
the field's attrs validators, so a wrong type and a wrong value take the same path and the error
names the camelCase key. A wrong value keeps its earlier value.
"""

from __future__ import annotations

import copy
import hashlib
import json
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import PRESETS, PROVIDER_IDS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.wire import Reasoning
from kestrel_lsp.setting_values import base_url_value, header_value, trimmed_key
from kestrel_lsp.settings_layers import Json, SettingsLayers, environment_layer, unwrap_section
from kestrel_lsp.validators import non_negative, one_of, positive

Path = tuple[str, ...]
Failure = tuple[Path, str]  # (attribute path, problem)


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


@attrs.frozen
class CompletionSettings:
    enabled: bool = True
    debounce_ms: int = attrs.field(default=150, validator=non_negative)


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
    provider: str = attrs.field(default="deepseek", validator=one_of(PROVIDER_IDS))
    base_url: str | None = attrs.field(default=None, validator=base_url_value)
    model: str | None = None
    api_key: str | None = attrs.field(
        default=None, repr=False, converter=trimmed_key, validator=header_value
    )
    completion: CompletionSettings = attrs.field(factory=CompletionSettings)
    retry: RetrySettings = attrs.field(factory=RetrySettings)
    request_timeout_ms: int = attrs.field(default=30000, validator=positive)
    # "off": thinking turned off wherever the provider documents a switch; "provider": the
    # provider's default, with edits given room for the reasoning.
    reasoning: Reasoning = "off"
    http: NetworkSettings = attrs.field(factory=NetworkSettings)
    actions: tuple[CustomAction, ...] = ()


_SECTIONS = (CompletionSettings, RetrySettings, NetworkSettings, CustomAction, Settings)


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


def _literal(value: Any, kind: Any) -> Any:
    allowed = typing.get_args(kind)
    if type(value) is not str:
        raise TypeError(f"expected a string, got {_json_type(value)}")
    if value not in allowed:
        raise ValueError("expected " + " or ".join(f'"{a}"' for a in allowed))
    return value


def _checked(conv: cattrs.Converter, attribute: attrs.Attribute[Any]) -> Callable[[Any, Any], Any]:
    """Structure one field, then run its attrs converter and validators: a wrong value fails
    here, inside cattrs, which notes the field's name, as a wrong type does."""

    def structure(value: Any, kind: Any) -> Any:
        value = conv.structure(value, kind)
        if attribute.converter is not None:
            value = attribute.converter(value)  # type: ignore[operator]
        if attribute.validator is not None:
            attribute.validator(None, attribute, value)
        return value

    return structure


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    for kind in (bool, int, str):
        conv.register_structure_hook(kind, _strict(kind))
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _string_tuple)
    conv.register_structure_hook_func(lambda t: typing.get_origin(t) is typing.Literal, _literal)
    for cls in _SECTIONS:
        attrs.resolve_types(cls)
        fields: dict[str, Any] = {}
        for a in attrs.fields(cls):
            if a.metadata.get("setting", True) is False:  # filled in by the session
                fields[a.name] = override(omit=True)
                continue
            checked = a.validator is not None or a.converter is not None
            hook = _checked(conv, a) if checked else None
            fields[a.name] = override(rename=camel(a.name), struct_hook=hook)
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **fields))
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **fields))
    return conv


CONVERTER = _make_converter()


@dataclass(frozen=True)
class SettingError:
    """A settings value that was refused (the notice table words it)."""

    key: str  # the camelCase path, e.g. "kestrel.completion.debounceMs"
    problem: str
    # Which bad value it was (a digest: the value may be a key), so another bad value for the
    # same key is a new error while the same one, still in its layer, is not.
    value_digest: str = field(default="", repr=False)
    outcome: str = "Its earlier value is kept."


def _failures(exc: BaseException, path: Path = ()) -> Iterator[Failure]:
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


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _get(data: Mapping[str, Any], path: Path) -> Any:
    for part in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)  # type: ignore[assignment]
    return data


def _set(data: Json, path: Path, value: Any) -> None:
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
        try:
            settings = CONVERTER.structure(data, Settings)
        except cattrs.ClassValidationError as exc:
            failures = list(_failures(exc))
        else:
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


__all__ = [
    "CONVERTER",
    "CustomAction",
    "ResolvedKey",
    "SettingError",
    "Settings",
    "SettingsLayers",
    "environment_layer",
    "resolve_key",
    "structure",
    "unwrap_section",
]
