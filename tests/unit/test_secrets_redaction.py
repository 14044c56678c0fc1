"""The key is redacted in every form a text may carry it: as it is, escaped (repr, ascii, JSON,
bytes, URL-quoted) and in any prefix or suffix of eight characters or more."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from kestrel_lsp.secrets import MIN_PIECE, REDACTED, SecretRegistry

# A quote, a backslash and a non-ASCII letter: each escaped form differs from the raw key.
KEY = 'sk-canary"7d41\\9e2b\u00e90c-5a8f31'


@pytest.fixture
def registry() -> SecretRegistry:
    secrets = SecretRegistry()
    secrets.add(KEY)
    return secrets


@pytest.mark.parametrize(
    "form",
    [
        KEY,
        repr(KEY),
        ascii(KEY),
        json.dumps(KEY),
        json.dumps(KEY, ensure_ascii=False),
        repr(KEY.encode()),
        quote(KEY, safe=""),
        f"Illegal header value {('Bearer ' + KEY + chr(10)).encode()!r}",
    ],
)
def test_every_escaped_form_is_redacted(registry: SecretRegistry, form: str) -> None:
    text = registry.redact(f"before {form} after")
    assert REDACTED in text
    assert "7d41" not in text and "5a8f31" not in text, text


@pytest.mark.parametrize("length", [MIN_PIECE, 12, len(KEY) - 1])
def test_prefixes_and_suffixes_of_eight_or_more_are_redacted(
    registry: SecretRegistry, length: int
) -> None:
    for piece in (KEY[:length], KEY[-length:], json.dumps(KEY)[1 : length + 1]):
        text = registry.redact(f"the provider said: {piece}!")
        assert text == f"the provider said: {REDACTED}!", (piece, text)


def test_shorter_pieces_and_other_text_are_left_alone(registry: SecretRegistry) -> None:
    text = f"sk-cana {KEY[-MIN_PIECE + 1 :]} and nothing else"
    assert registry.redact(text) == text
