"""The settings layers as plain dicts, merged "last wins" per key (esbonio's shape).

Layers, in order: defaults < environment < initializationOptions < workspace/configuration <
workspace/didChangeConfiguration. A `null` clears what every client layer set for that key;
`settings.structure` turns the merged dict into `Settings`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from typing import Any, Literal

Json = dict[str, Any]
# Where a client layer came from: `initialize`, a `workspace/configuration` pull, or a
# `workspace/didChangeConfiguration` notification.
Layer = Literal["initializationOptions", "configuration", "didChangeConfiguration"]


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

    def put(self, layer: Layer, section: Any) -> None:
        if layer == "initializationOptions":
            self.set_initialization_options(section)
        elif layer == "configuration":
            self.set_configuration(section)
        else:
            self.apply_change(section)

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
