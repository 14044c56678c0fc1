"""`kestrel-lsp --help`, `kestrel-lsp help` and `kestrel-lsp simulate --help` tell a newcomer
where settings and the key come from, what `simulate` does, and where the docs are."""

from __future__ import annotations

import pytest

from kestrel_lsp.cli import main
from kestrel_lsp.simulator import named_scripts


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    try:
        main(list(argv))
    except SystemExit as exc:
        assert exc.code in (0, None)
    return capsys.readouterr().out


def test_help_names_settings_key_variables_simulate_and_docs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_text(capsys, "--help")
    for part in (
        "initializationOptions",
        "KESTREL_PROVIDER",
        "KESTREL_BASE_URL",
        "KESTREL_API_KEY",
        "DEEPSEEK_API_KEY",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "kestrel-lsp simulate",
        "docs/",
    ):
        assert part in text, part


def test_help_command_is_the_same_as_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert help_text(capsys, "help") == help_text(capsys, "--help")


def test_simulate_help_lists_every_script_and_explains_port_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_text(capsys, "simulate", "--help")
    assert "default 0: a free port is picked" in text
    for name in named_scripts():
        assert f"\n  {name} " in text, name
    assert "Every request 401: a key that never works." in text  # each with what it plays
