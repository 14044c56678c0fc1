"""Keep the VS Code extension in step with the server's settings and provider presets.

The server is the one source: `kestrel_lsp.settings` (the `Settings` attrs classes and their
defaults, the environment layer) and `kestrel_lsp.provider.presets` (ids, default base URL and
model, key variable, whether a key is needed). From them this script

- sets `default` (and `enum`, `enumDescriptions` where the server has a closed set) of every
  server setting in `package.json`'s `contributes.configuration`, and fails when one is missing;
- writes `src/generated/server.ts`, the table the extension imports: providers, environment
  variables, and every `kestrel.*` setting it passes to the server with its default and shape.

    generate_settings.py          rewrite both files when they differ
    generate_settings.py --check  change nothing; exit 1 naming what is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXTENSION = Path(__file__).resolve().parent.parent
REPO = EXTENSION.parent
PACKAGE_JSON = EXTENSION / "package.json"
GENERATED_TS = EXTENSION / "src" / "generated" / "server.ts"

# Contributed settings the server never reads: the extension's own.
CLIENT_ONLY = frozenset({"interpreter", "trace.server"})
# Server settings the extension must not contribute (the key lives in SecretStorage).
NOT_CONTRIBUTED = frozenset({"apiKey"})

# Words for the settings editor's provider list; everything else comes from the presets.
PROVIDER_NAMES = {
    "deepseek": "DeepSeek",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "mimo": "Xiaomi MiMo",
    "minimax": "MiniMax",
    "ollama": "Ollama",
    "openai-compatible": "Any OpenAI-compatible server",
}
PROVIDER_NOTES = {
    "mimo": "token plan: https://token-plan-cn.xiaomimimo.com/v1",
}


class DriftError(Exception):
    """package.json and the server disagree in a way this script cannot settle by itself."""


@dataclass(frozen=True)
class Provider:
    id: str
    base_url: str | None
    model: str | None
    key_variable: str | None
    needs_key: bool


@dataclass(frozen=True)
class ServerSetting:
    key: str  # camelCase, dotted below `kestrel`: "completion.debounceMs"
    default: Any  # as JSON
    enum: tuple[str, ...] | None


@dataclass(frozen=True)
class ServerFacts:
    providers: tuple[Provider, ...]
    settings: tuple[ServerSetting, ...]
    environment: dict[str, str]  # setting key -> the variable the server reads for it
    # What the server accepts in `kestrel.actions` (None while it has no such setting).
    actions: ActionRules | None = None


@dataclass(frozen=True)
class ActionRules:
    max_items: int
    required: tuple[str, ...]  # the string fields an action must have
    when: tuple[str, ...]
    when_default: str


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


# -- reading the server ----------------------------------------------------------------------


def read_server() -> ServerFacts:
    sys.path.insert(0, str(REPO / "server"))
    from kestrel_lsp import settings
    from kestrel_lsp.provider import presets

    providers = tuple(
        Provider(
            id=provider_id,
            base_url=preset.base_url,
            model=preset.model,
            key_variable=preset.key_variable,
            needs_key=bool(preset.needs_key),
        )
        for provider_id, preset in presets.PRESETS.items()
    )
    provider_ids = tuple(p.id for p in providers)
    found = tuple(_walk(settings.Settings, ""))
    with_providers = tuple(
        ServerSetting(s.key, s.default, provider_ids) if s.key == "provider" else s for s in found
    )
    environment = _environment(settings.environment_layer)
    actions = _action_rules(settings) if any(s.key == "actions" for s in found) else None
    return ServerFacts(providers, with_providers, environment, actions)


def _action_rules(settings: types.ModuleType) -> ActionRules:
    import attrs

    try:
        entry, limit, when = settings.CustomAction, settings.MAX_ACTIONS, settings.ACTION_WHEN
    except AttributeError as exc:
        missing = f"the server's settings module has no {exc.name}"
        raise DriftError(f"kestrel.actions: {missing}") from exc
    fields = {f.name: f for f in attrs.fields(entry)}
    required = tuple(name for name, f in fields.items() if f.default is attrs.NOTHING)
    return ActionRules(limit, required, tuple(when), fields["when"].default)


def _walk(cls: type, prefix: str) -> typing.Iterator[ServerSetting]:
    import attrs

    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        if field.metadata.get("setting", True) is False:  # the server fills it in itself
            continue
        key = prefix + camel(field.name)
        kind = hints[field.name]
        if isinstance(kind, type) and attrs.has(kind):
            yield from _walk(kind, key + ".")
            continue
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        yield ServerSetting(key, _json_default(key, default), _literal_values(kind))


def _json_default(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list | frozenset) and not value:
        return []
    raise DriftError(f"kestrel.{key}: cannot write the default {value!r} as JSON")


def _literal_values(kind: Any) -> tuple[str, ...] | None:
    """`Literal["a", "b"]` (or that or None) -> ("a", "b")."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        literals = [a for a in typing.get_args(kind) if a is not type(None)]
        return _literal_values(literals[0]) if len(literals) == 1 else None
    if typing.get_origin(kind) is typing.Literal:
        return tuple(str(v) for v in typing.get_args(kind))
    return None


class _NamesAsValues(dict[str, str]):
    """An environment where every variable is set to its own name."""

    def get(self, key: str, default: Any = None) -> str:
        return key

    def __getitem__(self, key: str) -> str:
        return key

    def __contains__(self, key: object) -> bool:
        return True


def _environment(environment_layer: Any) -> dict[str, str]:
    # Ask the server's own function which variable feeds which setting.
    layer = environment_layer(_NamesAsValues())
    return {key: value for key, value in layer.items() if isinstance(value, str)}


# -- package.json ------------------------------------------------------------------------------


def provider_description(p: Provider) -> str:
    name = PROVIDER_NAMES.get(p.id, p.id)
    if p.base_url is None:
        text = f"{name}: set kestrel.baseUrl and kestrel.model"
    else:
        note = f"; {PROVIDER_NOTES[p.id]}" if p.id in PROVIDER_NOTES else ""
        text = f"{name} ({p.base_url}{note}), default model {p.model}"
    if p.needs_key:
        key = f"key in {p.key_variable} or Kestrel: Set API Key" if p.key_variable else "a key"
    elif p.key_variable:
        key = f"a key is optional ({p.key_variable} or Kestrel: Set API Key)"
    else:
        key = "no key"
    return f"{text}; {key}."


def sync_package(package: dict[str, Any], facts: ServerFacts) -> list[str]:
    """Set the server's defaults and enums in `package` (in place); return what changed.
    Raises DriftError for what needs a person: a server setting that is not contributed, or a
    contributed one the server does not know."""
    properties: dict[str, Any] = package["contributes"]["configuration"]["properties"]
    changes: list[str] = []
    problems: list[str] = []
    server_keys = {s.key for s in facts.settings}
    for setting in facts.settings:
        if setting.key in NOT_CONTRIBUTED:
            continue
        name = f"kestrel.{setting.key}"
        schema = properties.get(name)
        if schema is None:
            problems.append(f"{name} is a server setting but package.json does not contribute it")
            continue
        wanted: dict[str, Any] = {"default": setting.default}
        if setting.enum is not None:
            wanted["enum"] = list(setting.enum)
        if setting.key == "provider":
            wanted["enumDescriptions"] = [provider_description(p) for p in facts.providers]
        if setting.key == "actions" and facts.actions is not None:
            changes += _sync_actions(schema, facts.actions)
        for field, value in wanted.items():
            if schema.get(field, _MISSING) != value:
                schema[field] = value
                changes.append(f"{name}.{field}")
    for name in properties:
        key = name.removeprefix("kestrel.")
        known = key in server_keys or key in CLIENT_ONLY
        if not known:
            problems.append(f"{name} is contributed but the server has no such setting")
    if problems:
        raise DriftError("; ".join(problems))
    return changes


_MISSING = object()


def _sync_actions(schema: dict[str, Any], rules: ActionRules) -> list[str]:
    """The schema of `kestrel.actions` entries, so the settings editor checks what the server
    does: how many, which fields are required, and the values of `when`."""
    items = schema.setdefault("items", {"type": "object"})
    props = items.setdefault("properties", {})
    wanted: list[tuple[dict[str, Any], str, Any, str]] = [
        (schema, "maxItems", rules.max_items, "maxItems"),
        (items, "required", list(rules.required), "items.required"),
    ]
    for name in rules.required:
        wanted.append((props.setdefault(name, {}), "type", "string", f"items.{name}.type"))
    when = props.setdefault("when", {"type": "string"})
    wanted.append((when, "enum", list(rules.when), "items.when.enum"))
    wanted.append((when, "default", rules.when_default, "items.when.default"))
    changes = []
    for target, field, value, label in wanted:
        if target.get(field, _MISSING) != value:
            target[field] = value
            changes.append(f"kestrel.actions.{label}")
    return changes


def render_package(facts: ServerFacts) -> tuple[str, list[str]]:
    package = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    changes = sync_package(package, facts)
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n", changes


# -- the TypeScript module ---------------------------------------------------------------------


def setting_kind(schema: Mapping[str, Any]) -> str:
    """How the extension reads a setting: "text" (a trimmed string, empty means unset: null),
    "list" (strings, blanks dropped) or "value" (as written, so the server names a wrong type)."""
    if schema.get("type") == ["string", "null"]:
        return "text"
    if schema.get("type") == "array" and schema.get("items", {}).get("type") == "string":
        return "list"
    return "value"


def ts_type(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(ts_type({**schema, "type": k}) for k in kind)
    if kind == "array":
        return f"readonly {_parenthesised(ts_type(schema.get('items', {})))}[]"
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", []))
        fields = [
            f"{name}{'' if name in required else '?'}: {ts_type(sub)}"
            for name, sub in schema["properties"].items()
        ]
        return "{ " + "; ".join(fields) + " }"
    return {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
            "null": "null"}.get(str(kind), "unknown")  # fmt: skip


def _parenthesised(text: str) -> str:
    return f"({text})" if " | " in text and not text.startswith("{") else text


def _nested(flat: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _interface_body(tree: Mapping[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for name, value in tree.items():
        if isinstance(value, dict):
            lines += [f"{indent}{name}: {{", *_interface_body(value, indent + "  "), f"{indent}}};"]
        else:
            lines.append(f"{indent}{name}: {value};")
    return lines


def render_ts(package: Mapping[str, Any], facts: ServerFacts) -> str:
    properties = package["contributes"]["configuration"]["properties"]
    sent = {
        name.removeprefix("kestrel."): schema
        for name, schema in properties.items()
        if name.removeprefix("kestrel.") not in CLIENT_ONLY
    }
    presets = [
        f"  {_ts_key(p.id)}: "
        + _ts_inline({"baseUrl": p.base_url, "model": p.model, "keyVariable": p.key_variable,
                      "needsKey": p.needs_key})
        + ","
        for p in facts.providers
    ]  # fmt: skip
    table = [
        f"  {_ts_inline({'key': key, 'kind': setting_kind(s), 'default': s.get('default')})},"
        for key, s in sent.items()
    ]
    default_provider = next(s.default for s in facts.settings if s.key == "provider")
    types_ = {key: ts_type(schema) for key, schema in sent.items()}
    types_["provider"] = "string"  # KESTREL_PROVIDER may name anything; the server checks it
    interface = _interface_body(_nested(types_), "  ")
    out = [
        "// Generated by scripts/generate_settings.py from the server's provider presets and",
        "// settings (server/kestrel_lsp/provider/presets.py, server/kestrel_lsp/settings.py) and",
        "// package.json. Do not edit: `npm run generate` rewrites it, and a test fails when it is",
        "// out of date.",
        "",
        "export interface ProviderPreset {",
        "  readonly baseUrl: string | null;",
        "  readonly model: string | null;",
        "  readonly keyVariable: string | null;",
        "  readonly needsKey: boolean;",
        "}",
        "",
        f"export const PROVIDERS = {_ts_inline([p.id for p in facts.providers])} as const;",
        "",
        "export type ProviderId = (typeof PROVIDERS)[number];",
        "",
        f"export const DEFAULT_PROVIDER: ProviderId = {json.dumps(default_provider)};",
        "",
        "export const PRESETS: Readonly<Record<ProviderId, ProviderPreset>> = {",
        *presets,
        "};",
        "",
        "/** The environment variable the server reads for a setting, below every client layer. */",
        f"export const ENVIRONMENT = {_ts_inline(facts.environment)} as const;",
        "",
        "/** How a setting is read: see `setting_kind` in scripts/generate_settings.py. */",
        'export type SettingKind = "text" | "list" | "value";',
        "",
        "export interface SettingSpec {",
        "  readonly key: string;",
        "  readonly kind: SettingKind;",
        "  readonly default: unknown;",
        "}",
        "",
        "/** Every `kestrel.*` setting the extension passes to the server (dotted, camelCase). */",
        "export const SERVER_SETTINGS: readonly SettingSpec[] = [",
        *table,
        "];",
        "",
        "/** The `kestrel` object the server receives (never the API key). */",
        "export interface KestrelServerSettings {",
        *interface,
        "}",
        "",
    ]
    return "\n".join(out)


def _ts_key(name: str) -> str:
    return name if name.isidentifier() else json.dumps(name)


def _ts_inline(value: Any) -> str:
    """A JSON value on one line, written as TypeScript: identifier keys unquoted."""
    if isinstance(value, dict):
        fields = ", ".join(f"{_ts_key(k)}: {_ts_inline(v)}" for k, v in value.items())
        return "{ " + fields + " }" if fields else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_ts_inline(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# -- main --------------------------------------------------------------------------------------


def render() -> tuple[dict[Path, str], list[str]]:
    """What package.json and the TypeScript module should hold, and the package.json fields
    that change."""
    facts = read_server()
    package_text, changes = render_package(facts)
    ts_text = render_ts(json.loads(package_text), facts)
    return {PACKAGE_JSON: package_text, GENERATED_TS: ts_text}, changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail on drift")
    args = parser.parse_args(argv)
    try:
        files, changes = render()
    except DriftError as exc:
        print(f"generate_settings: {exc}", file=sys.stderr)
        return 1
    stale = [
        path
        for path, text in files.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    where = ", ".join(str(p.relative_to(REPO)) for p in stale)
    if args.check:
        if stale:
            detail = f" ({', '.join(changes)})" if changes else ""
            print(
                f"generate_settings: out of date with the server: {where}{detail}. "
                "Run `make generate` (or `npm run generate` in client-extension/).",
                file=sys.stderr,
            )
            return 1
        return 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
    if stale:
        print(f"generate_settings: wrote {where}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
