"""Settings layers and strict structuring, without a server."""

from __future__ import annotations

from kestrel_lsp.features.notices import notice_text
from kestrel_lsp.setting_values import url_secrets
from kestrel_lsp.settings import Settings, SettingsLayers, resolve_key, structure


def resolved(layers: SettingsLayers, previous: Settings | None = None):
    return structure(layers.merged(), previous or Settings())


def test_defaults() -> None:
    settings, errors = resolved(SettingsLayers(env={}))
    assert errors == []
    assert settings.provider == "deepseek" and settings.completion.debounce_ms == 150
    assert settings.retry.max_auth_retries == 2 and settings.request_timeout_ms == 30000


def test_layers_last_wins_per_key() -> None:
    layers = SettingsLayers(env={"KESTREL_PROVIDER": "mimo", "KESTREL_MODEL": "env-model"})
    layers.set_initialization_options({"model": "init-model", "completion": {"debounceMs": 10}})
    layers.set_configuration({"completion": {"debounceMs": 20}})
    layers.apply_change({"completion": {"enabled": False}})
    settings, _ = resolved(layers)
    assert settings.provider == "mimo"
    assert settings.model == "init-model"
    assert settings.completion.debounce_ms == 20
    assert settings.completion.enabled is False


def test_wrapped_section_is_accepted() -> None:
    layers = SettingsLayers(env={})
    layers.set_initialization_options({"kestrel": {"provider": "anthropic"}})
    assert resolved(layers)[0].provider == "anthropic"


def test_api_key_from_init_survives_configuration_without_it() -> None:
    layers = SettingsLayers(env={})
    layers.set_initialization_options({"apiKey": "sk-init-key-123"})
    layers.set_configuration({"provider": "deepseek", "completion": {"enabled": True}})
    assert resolved(layers)[0].api_key == "sk-init-key-123"


def test_null_clears_every_client_layer_and_the_env_fallback_applies() -> None:
    env = {"KESTREL_API_KEY": "sk-env-key-456"}
    layers = SettingsLayers(env=env)
    layers.set_initialization_options({"apiKey": "sk-init-key-123", "model": "m1"})
    layers.apply_change({"apiKey": None})
    settings, _ = resolved(layers)
    assert settings.api_key is None
    assert resolve_key(settings, env).source == "KESTREL_API_KEY"
    assert settings.model == "m1"
    layers.set_configuration({"model": "m2"})
    assert resolved(layers)[0].api_key is None  # a later pull does not bring it back


def test_wrong_types_name_the_camel_case_key_and_keep_the_earlier_value() -> None:
    layers = SettingsLayers(env={})
    layers.set_initialization_options({"completion": {"debounceMs": 300}})
    earlier, _ = resolved(layers)
    layers.apply_change({"completion": {"debounceMs": 1.9, "enabled": "false"}, "bogus": 1})
    settings, errors = resolved(layers, earlier)
    assert settings.completion.debounce_ms == 300 and settings.completion.enabled is True
    assert sorted(e.key for e in errors) == [
        "kestrel.completion.debounceMs",
        "kestrel.completion.enabled",
    ]
    assert "expected an integer" in notice_text(errors[0]) or "expected an integer" in notice_text(
        errors[1]
    )


def test_semantic_errors() -> None:
    layers = SettingsLayers(env={})
    layers.set_initialization_options(
        {
            "provider": "nope",
            "retry": {"maxRetries": -1},
            "baseUrl": "ftp://x",
            "requestTimeoutMs": 0,
        }
    )
    settings, errors = resolved(layers)
    assert {e.key for e in errors} == {
        "kestrel.provider",
        "kestrel.retry.maxRetries",
        "kestrel.baseUrl",
        "kestrel.requestTimeoutMs",
    }
    assert settings == Settings()


def test_key_fallback_order() -> None:
    settings = Settings(provider="mimo")
    assert resolve_key(settings, {}).value is None
    assert resolve_key(settings, {"MIMO_API_KEY": "m"}).source == "MIMO_API_KEY"
    both = {"MIMO_API_KEY": "m", "KESTREL_API_KEY": "k"}
    assert resolve_key(settings, both).source == "KESTREL_API_KEY"
    with_setting = Settings(provider="mimo", api_key="sk-canary-9931")
    assert resolve_key(with_setting, both).source == "setting"
    assert "sk-canary-9931" not in repr(resolve_key(with_setting, both)) + repr(with_setting)


# -- values that end up on the wire ------------------------------------------------------------

KEY = "sk-settings-canary-4f0a9c2e71"


def with_init(options: dict, previous: Settings | None = None):
    layers = SettingsLayers(env={})
    layers.set_initialization_options(options)
    return resolved(layers, previous)


def test_a_key_is_trimmed_of_surrounding_whitespace() -> None:
    settings, errors = with_init({"apiKey": f"  {KEY}\n"})
    assert errors == [] and settings.api_key == KEY
    env_key = resolve_key(Settings(), {"KESTREL_API_KEY": f"{KEY}\r\n"})
    assert env_key.value == KEY


def test_a_key_with_a_control_character_is_a_settings_error_without_its_value() -> None:
    for bad in (f"{KEY}\r\nX-Injected: yes", f"sk-a\x00{KEY}", f"{KEY}\x7f", f"{KEY}é"):
        settings, errors = with_init({"apiKey": bad}, Settings(api_key="sk-earlier-key-1234"))
        assert [e.key for e in errors] == ["kestrel.apiKey"]
        assert settings.api_key == "sk-earlier-key-1234"  # the earlier value is kept
        for text in (notice_text(errors[0]), repr(errors[0])):
            assert KEY not in text and KEY[:8] not in text and "X-Injected" not in text


def test_a_base_url_with_credentials_is_refused_and_never_shown() -> None:
    settings, errors = with_init({"baseUrl": "https://alice:pw-secret-91@gw.example/v1"})
    assert [e.key for e in errors] == ["kestrel.baseUrl"]
    assert settings.base_url is None
    assert "alice" not in notice_text(errors[0]) and "pw-secret-91" not in notice_text(errors[0])
    assert "kestrel.apiKey" in notice_text(errors[0])
    assert url_secrets({"baseUrl": "https://alice:pw%2Dsecret@gw.example"}) == [
        "alice",
        "pw%2Dsecret",
        "alice",
        "pw-secret",
    ]


def test_a_base_url_with_control_characters_or_a_bad_idna_host_is_refused() -> None:
    for bad in ("http://gw.example/v1\r\nX: y", "http://gw.example/v 1", "https://a..b\u00df/"):
        _, errors = with_init({"baseUrl": bad})
        assert [e.key for e in errors] == ["kestrel.baseUrl"], bad


def test_an_internationalised_base_url_is_accepted() -> None:
    settings, errors = with_init({"baseUrl": "https://fa\u00df.test/v1"})
    assert errors == [] and settings.base_url == "https://fa\u00df.test/v1"


def test_reasoning_is_off_by_default_and_checked() -> None:
    layers = SettingsLayers(env={})
    settings, errors = resolved(layers)
    assert settings.reasoning == "off" and errors == []
    layers.set_initialization_options({"reasoning": "provider"})
    settings, errors = resolved(layers)
    assert settings.reasoning == "provider" and errors == []
    layers.apply_change({"reasoning": "maybe"})
    settings, errors = resolved(layers, settings)
    assert settings.reasoning == "provider"
    assert [e.key for e in errors] == ["kestrel.reasoning"]


def test_custom_actions_are_checked_entry_by_entry() -> None:
    hints = {"title": "Hints", "instruction": "Add type hints.", "when": "selection"}
    raw = [hints, "tests please", {"title": " ", "instruction": "x"}, {**hints, "when": "often"}]
    settings, errors = structure({"actions": raw}, Settings())
    assert [(a.title, a.instruction, a.when) for a in settings.actions] == [
        ("Hints", "Add type hints.", "selection")
    ]
    assert [(e.key, e.problem) for e in errors] == [
        ("kestrel.actions[1]", "expected an object with a title and an instruction, got a string"),
        ("kestrel.actions[2].title", "expected a non-empty string"),
        ("kestrel.actions[3].when", "expected one of always, selection, diagnostics"),
    ]
    assert all(notice_text(e).endswith("That action is left out; the others stay.") for e in errors)


def test_custom_actions_not_a_list_keep_the_earlier_ones_and_more_than_20_are_cut() -> None:
    earlier, _ = structure({"actions": [{"title": "A", "instruction": "Do A."}]}, Settings())
    settings, [error] = structure({"actions": {"title": "B"}}, earlier)
    assert settings.actions == earlier.actions
    assert notice_text(error) == (
        "Kestrel: setting kestrel.actions is invalid: expected a list of actions, got an object. "
        "Its earlier value is kept."
    )
    many = [{"title": f"T{n}", "instruction": "Do it."} for n in range(25)]
    settings, [error] = structure({"actions": many}, Settings())
    assert [a.title for a in settings.actions] == [f"T{n}" for n in range(20)]
    assert notice_text(error) == (
        "Kestrel: setting kestrel.actions is invalid: at most 20 actions, got 25. "
        "The first 20 are used."
    )
    assert structure({"actions": None}, earlier)[0].actions == ()
