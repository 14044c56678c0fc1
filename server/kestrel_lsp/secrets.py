"""Keeping secrets out of every text Kestrel writes: notices, logs, tracebacks, reprs.

A leaf module (it imports nothing from Kestrel) so every layer can use it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping

REDACTED = "[redacted]"
# Providers echo masked keys ("sk-proj-****abcd"): the visible ends are still part of the key.
_MASKED_KEY = re.compile(r"[A-Za-z0-9_\-]*\*{3,}[A-Za-z0-9_\-]*")


class SecretRegistry:
    """The secrets currently in use in this process (API keys, proxy passwords)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def add(self, secret: str | None) -> None:
        # Secrets are never forgotten: a key replaced a minute ago is still a secret.
        if secret and len(secret) >= 4:
            with self._lock:
                self._secrets = self._secrets | {secret}

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
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
