"""Keeping secrets out of every text Kestrel writes: notices, logs, tracebacks, reprs.

A leaf module (it imports nothing from Kestrel) so every layer can use it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from urllib.parse import quote

REDACTED = "[redacted]"
# Providers echo masked keys ("sk-proj-****abcd"): the visible ends are still part of the key.
_MASKED_KEY = re.compile(r"[A-Za-z0-9_\-]*\*{3,}[A-Za-z0-9_\-]*")


# A piece of a secret this long or longer, at either end, is redacted too: a provider that
# echoes "sk-proj-AbCd…" or "…wxyz1234" gives away part of the key.
MIN_PIECE = 8


def escaped_forms(secret: str) -> set[str]:
    """The secret as it is, and as `repr`, `ascii`, JSON, bytes' repr and a URL would write it."""
    forms = {
        secret,
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        quote(secret, safe=""),
    }
    return {form for form in forms if form}


class SecretRegistry:
    """The secrets currently in use in this process (API keys, proxy passwords)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._forms: tuple[str, ...] = ()  # every escaped form, longest first

    def add(self, secret: str | None) -> None:
        # Secrets are never forgotten: a key replaced a minute ago is still a secret.
        if secret and len(secret) >= 4 and secret not in self._secrets:
            with self._lock:
                self._secrets = self._secrets | {secret}
                forms = set(self._forms) | escaped_forms(secret)
                self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __iter__(self) -> Iterator[str]:
        return iter(self._secrets)

    def redact(self, text: str) -> str:
        forms = self._forms
        for form in forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return _redact_pieces(text, forms)


def _redact_pieces(text: str, forms: tuple[str, ...]) -> str:
    """Replace every prefix or suffix (MIN_PIECE characters or more) of any form in `text`."""
    spans: list[tuple[int, int]] = []
    for form in forms:
        if len(form) < MIN_PIECE:
            continue
        head, tail = form[:MIN_PIECE], form[-MIN_PIECE:]
        start = text.find(head)
        while start >= 0:
            end = start + MIN_PIECE
            while end < len(text) and end - start < len(form) and text[end] == form[end - start]:
                end += 1
            spans.append((start, end))
            start = text.find(head, start + 1)
        found = text.find(tail)
        while found >= 0:
            end, start = found + MIN_PIECE, found
            while (
                start > 0 and end - start < len(form) and text[start - 1] == form[start - end - 1]
            ):
                start -= 1
            spans.append((start, end))
            found = text.find(tail, found + 1)
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + REDACTED + text[end:]
    return text


SECRETS = SecretRegistry()


def redact_provider_text(text: str) -> str:
    """Redact a provider's own message: the known secrets and any masked key it echoes."""
    return _MASKED_KEY.sub(REDACTED, SECRETS.redact(text))


class RedactingFormatter(logging.Formatter):
    """Formats, then redacts the whole record text: message, arguments and traceback alike."""

    def format(self, record: logging.LogRecord) -> str:
        return SECRETS.redact(super().format(record))


LOG_LEVEL_VARIABLE = "KESTREL_LOG_LEVEL"


def log_level(env: Mapping[str, str]) -> int:
    """The level `KESTREL_LOG_LEVEL` asks for (DEBUG, INFO, WARNING, ERROR or a number);
    WARNING when it is unset or unknown. pygls's own logger stays at WARNING whatever it says."""
    raw = env.get(LOG_LEVEL_VARIABLE, "").strip().upper()
    if raw.isdigit():
        return int(raw)
    level = logging.getLevelName(raw) if raw else None
    return level if isinstance(level, int) else logging.WARNING


def install_redacting_logging(level: int = logging.WARNING) -> None:
    """Log to stderr through a redacting formatter; keep pygls (which logs params) quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("pygls").setLevel(max(level, logging.WARNING))
