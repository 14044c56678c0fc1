"""Checks of setting values that end up on the wire: a key that must fit in a header, a base
URL that must not carry credentials (as attrs validators). Their messages never repeat the
value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit


def sendable_in_a_header(value: str) -> bool:
    """Printable ASCII (and tab): what an HTTP header value can carry as it is."""
    return all(c == "\t" or " " <= c <= "~" for c in value)


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be the base URL, in words that never repeat its user or password."""
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F for c in url):
        return "it holds a control character or a space"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
        host = parts.hostname
    except ValueError:
        return "expected an http:// or https:// URL with a host"
    if parts.scheme not in ("http", "https") or not host:
        return "expected an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "it holds a user name or password; put the credentials in kestrel.apiKey"
    if not host.isascii():
        try:
            import idna

            idna.encode(host, uts46=True)
        except idna.IDNAError:
            return "its host name is not a valid internationalised domain name"
    return None


def trimmed_key(key: str | None) -> str | None:
    """A key pasted with a newline or spaces around it is the key without them."""
    return key.strip() or None if key is not None else None


def base_url_value(_instance: Any, _attribute: Any, url: str | None) -> None:
    """attrs validator of `baseUrl` (None: the provider's own)."""
    problem = base_url_problem(url) if url is not None else None
    if problem:
        raise ValueError(problem)


def header_value(_instance: Any, _attribute: Any, key: str | None) -> None:
    """attrs validator of `apiKey`: it goes into a request header. The key is named without
    its value: the error must not carry it."""
    if key is not None and not sendable_in_a_header(key):
        raise ValueError(
            "it holds a line break, a control character or a character outside ASCII, "
            "which cannot be sent in a request header; nothing was sent with it"
        )


def url_secrets(merged: Mapping[str, Any]) -> list[str]:
    """The user and password of a `baseUrl` that carries them, as written and decoded, so they
    are redacted wherever they might be written (the setting itself is refused)."""
    url = merged.get("baseUrl")
    if not isinstance(url, str) or "@" not in url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [p for p in (parts.username, parts.password) if p]
    return found + [unquote(p) for p in found]
