"""Notices (`window/showMessage`) and the `kestrel/status` notification.

Both are sent only after `initialized`; what comes earlier waits. Automatic completions raise a
given notice at most once until the state changes; explicit actions always get theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kestrel_lsp.provider.errors import MissingKeyError, ProviderError

ERROR, WARNING, INFO = 1, 2, 3
_SEVERITY = {"error": ERROR, "warning": WARNING, "info": INFO}


# `clientInfo.name` of editors built on VS Code, where the Kestrel extension and its
# "Kestrel: Set API Key" command run (vscode-languageclient sends `vscode.env.appName`).
_VSCODE_FAMILY = re.compile(
    r"visual studio code|visual-studio-code|vscode|vscodium|code - oss|code-server|cursor|"
    r"windsurf|positron",
    re.IGNORECASE,
)


def missing_key_notice(provider: str, key_variable: str | None, client_name: str | None) -> str:
    """The missing-key notice, with the way to set a key worded for the editor that asked."""
    start = f"Kestrel: API key is missing or unset for {provider}."
    if client_name and _VSCODE_FAMILY.search(client_name):
        return f'{start} Run "Kestrel: Set API Key" from the Command Palette to store one.'
    names = ["KESTREL_API_KEY"]
    if key_variable and key_variable not in names:
        names.append(key_variable)
    return (
        f"{start} Set kestrel.apiKey in your editor's settings for the Kestrel server, or set "
        f"{' or '.join(names)} in the environment your editor starts kestrel-lsp from."
    )


@dataclass(frozen=True)
class Status:
    state: str
    provider: str
    message: str


class Notices:
    def __init__(
        self,
        show: Callable[[int, str], None],
        send_status: Callable[[dict[str, Any]], None],
    ) -> None:
        self._show = show
        self._send_status = send_status
        self._ready = False
        self._pending: list[tuple[int, str]] = []
        self._status: Status | None = None
        self._sent_status: Status | None = None
        self._automatic_shown: set[str] = set()
        self.client_name: str | None = None  # `clientInfo.name`, from `initialize`

    def initialized(self) -> None:
        self._ready = True
        # The status first: a client keys a notice's buttons by the state sent before it.
        if self._status is not None:
            self._flush_status()
        for kind, text in self._pending:
            self._show(kind, text)
        self._pending.clear()

    def show(self, kind: int, text: str) -> None:
        if self._ready:
            self._show(kind, text)
        else:
            self._pending.append((kind, text))

    def set_status(self, state: str, provider: str, message: str) -> None:
        status = Status(state, provider, message)
        if self._status is not None and status.state != self._status.state:
            self._automatic_shown.clear()
        self._status = status
        if self._ready:
            self._flush_status()

    def _flush_status(self) -> None:
        if self._status is not None and self._status != self._sent_status:
            self._sent_status = self._status
            self._send_status(
                {
                    "state": self._status.state,
                    "provider": self._status.provider,
                    "message": self._status.message,
                }
            )

    @property
    def state(self) -> str | None:
        return self._status.state if self._status else None

    @property
    def provider(self) -> str | None:
        return self._status.provider if self._status else None

    def provider_failed(self, error: ProviderError, *, automatic: bool) -> None:
        notice = error.notice
        if isinstance(error, MissingKeyError):
            notice = missing_key_notice(error.provider, error.key_variable, self.client_name)
        if error.state is not None:
            self.set_status(error.state, error.provider, notice)
        if automatic:
            self.show_once(_SEVERITY[error.severity], notice)
        else:
            self.show(_SEVERITY[error.severity], notice)

    def show_once(self, kind: int, text: str) -> None:
        """For automatic requests: a given notice at most once until the state changes."""
        if text in self._automatic_shown:
            return
        self._automatic_shown.add(text)
        self.show(kind, text)

    def provider_ok(self, provider: str, message: str) -> None:
        if self.state != "ok":
            self.set_status("ok", provider, message)
