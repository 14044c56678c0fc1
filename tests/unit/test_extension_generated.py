"""The VS Code extension's provider table and setting defaults come from the server: its
package.json and src/generated/server.ts are written by client-extension/scripts/
generate_settings.py, and this test fails when either no longer matches the server."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.settings import Settings

SCRIPT = Path(__file__).parents[2] / "client-extension" / "scripts" / "generate_settings.py"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_settings", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def package(gen: ModuleType) -> dict[str, Any]:
    return dict(json.loads(gen.PACKAGE_JSON.read_text(encoding="utf-8")))


def properties(package: dict[str, Any]) -> dict[str, Any]:
    return dict(package["contributes"]["configuration"]["properties"])


def test_the_extension_files_match_the_server(gen: ModuleType) -> None:
    files, changes = gen.render()
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is out of date with the server ({', '.join(changes) or 'regenerated text'}): "
            "run `make generate`"
        )


def test_package_json_holds_the_servers_defaults_and_providers(package: dict[str, Any]) -> None:
    props = properties(package)
    defaults = Settings()
    assert props["kestrel.provider"]["default"] == defaults.provider
    assert props["kestrel.provider"]["enum"] == list(PRESETS)
    assert props["kestrel.completion.debounceMs"]["default"] == defaults.completion.debounce_ms
    assert props["kestrel.requestTimeoutMs"]["default"] == defaults.request_timeout_ms
    assert "kestrel.apiKey" not in props  # the key lives in SecretStorage only
    descriptions = props["kestrel.provider"]["enumDescriptions"]
    assert len(descriptions) == len(PRESETS)
    for preset, text in zip(PRESETS.values(), descriptions, strict=True):
        assert (preset.base_url or "kestrel.baseUrl") in text
        assert (preset.key_variable or "no key") in text


def test_a_changed_default_or_enum_is_rewritten(gen: ModuleType, package: dict[str, Any]) -> None:
    drifted = copy.deepcopy(package)
    props = properties(drifted)
    props["kestrel.completion.debounceMs"]["default"] = 999
    props["kestrel.provider"]["enum"].remove("ollama")
    changes = gen.sync_package(drifted, gen.read_server())
    assert changes == ["kestrel.provider.enum", "kestrel.completion.debounceMs.default"]
    assert drifted == package


def test_the_actions_schema_follows_the_server(gen: ModuleType, package: dict[str, Any]) -> None:
    from kestrel_lsp.settings import ACTION_WHEN, MAX_ACTIONS

    schema = properties(package)["kestrel.actions"]
    assert schema["maxItems"] == MAX_ACTIONS
    assert schema["items"]["required"] == ["title", "instruction"]
    assert schema["items"]["properties"]["when"]["enum"] == list(ACTION_WHEN)
    drifted = copy.deepcopy(package)
    actions = properties(drifted)["kestrel.actions"]
    actions["maxItems"] = 50
    actions["items"]["properties"]["when"]["enum"] = ["always"]
    changes = gen.sync_package(drifted, gen.read_server())
    assert changes == ["kestrel.actions.maxItems", "kestrel.actions.items.when.enum"]
    assert drifted == package


def test_a_setting_on_one_side_only_is_an_error(gen: ModuleType, package: dict[str, Any]) -> None:
    missing = copy.deepcopy(package)
    del missing["contributes"]["configuration"]["properties"]["kestrel.retry.maxRetries"]
    with pytest.raises(gen.DriftError, match=r"kestrel\.retry\.maxRetries is a server setting"):
        gen.sync_package(missing, gen.read_server())

    extra = copy.deepcopy(package)
    extra["contributes"]["configuration"]["properties"]["kestrel.retry.maxRetrys"] = {}
    with pytest.raises(gen.DriftError, match=r"kestrel\.retry\.maxRetrys is contributed"):
        gen.sync_package(extra, gen.read_server())


def test_a_literal_setting_gets_its_enum(gen: ModuleType, package: dict[str, Any]) -> None:
    facts = gen.read_server()
    reasoning = gen.ServerSetting("reasoning", "provider", ("off", "provider"))
    with_reasoning = gen.ServerFacts(facts.providers, (*facts.settings, reasoning), {})
    changed = copy.deepcopy(package)
    gen.sync_package(changed, with_reasoning)
    schema = properties(changed)["kestrel.reasoning"]
    assert (schema["default"], schema["enum"]) == ("provider", ["off", "provider"])


def test_the_server_settings_are_read_with_their_types(gen: ModuleType) -> None:
    facts = gen.read_server()
    by_key = {s.key: s for s in facts.settings}
    assert by_key["completion.enabled"].default is True
    assert by_key["http.noProxy"].default == []
    assert by_key["baseUrl"].default is None
    assert by_key["provider"].enum == tuple(PRESETS)
    assert facts.environment["provider"] == "KESTREL_PROVIDER"
    assert facts.environment["baseUrl"] == "KESTREL_BASE_URL"
