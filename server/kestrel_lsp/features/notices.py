"""Notices (`window/showMessage`) and the `kestrel/status` notification: the one owner of both.

The table (`_TABLE`, read by `notice_for`) maps what happened (a provider error, a refused
setting, a file changed under an action, ...) to its severity, the status state it moves to, and
its text. Every text a user reads starting "Kestrel: " is written here; errors elsewhere carry
only data. `Notices` holds the state and makes the only transitions.

Both are sent only after `initialized`; what comes earlier waits, the status first (a client
keys a notice's buttons by the state sent before it). Automatic completions raise a given notice
at most once until the state changes; explicit actions always get theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from kestrel_lsp.provider.errors import (
    AuthRejectedError,
    EmptyReplyError,
    MalformedReplyError,
    MissingKeyError,
    ProviderError,
    ProviderReportedError,
    ProviderResponseError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitedError,
    RedirectRefusedError,
    ReplyTooLargeError,
    RetryBudgetExceeded,
    StreamInterruptedError,
    UnfinishedReplyError,
    UnreadableReplyError,
)
from kestrel_lsp.session import ConfigurationProblem
from kestrel_lsp.settings import SettingError

ERROR, WARNING, INFO = 1, 2, 3  # LSP's MessageType
DASH = "\u2014"

State = Literal["ok", "missingKey", "rejectedKey", "quotaExhausted", "rateLimited", "unreachable"]


# -- what else is told (besides errors): data, worded in the table ------------------------------


@dataclass(frozen=True)
class FileChanged:
    """The document moved past the version an action was computed for: nothing applied."""

    file_name: str


@dataclass(frozen=True)
class ActionCrashed:
    """An action failed in a way Kestrel did not foresee (the log has the traceback)."""

    error_type: str


@dataclass(frozen=True)
class TlsUnverified:
    """`kestrel.http.insecureHosts` lists these hosts: their certificates are not checked."""

    hosts: tuple[str, ...]


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    severity: int
    state: State | None  # the `kestrel/status` state it moves to; None: unchanged
    text: str
    shown: bool = True  # False: only the status changes (a completion gives up quietly)


# `clientInfo.name` of editors built on VS Code, where the Kestrel extension and its
# "Kestrel: Set API Key" command run (vscode-languageclient sends `vscode.env.appName`).
_VSCODE_FAMILY = re.compile(
    r"visual studio code|visual-studio-code|vscode|vscodium|code - oss|code-server|cursor|"
    r"windsurf|positron",
    re.IGNORECASE,
)


def _missing_key(error: MissingKeyError, client_name: str | None) -> str:
    """The way to set a key, worded for the editor that asked."""
    start = f"Kestrel: API key is missing or unset for {error.provider}."
    if client_name and _VSCODE_FAMILY.search(client_name):
        return f'{start} Run "Kestrel: Set API Key" from the Command Palette to store one.'
    names = ["KESTREL_API_KEY"]
    if error.key_variable and error.key_variable not in names:
        names.append(error.key_variable)
    return (
        f"{start} Set kestrel.apiKey in your editor's settings for the Kestrel server, or set "
        f"{' or '.join(names)} in the environment your editor starts kestrel-lsp from."
    )


def _rejected(error: AuthRejectedError, _client: str | None) -> str:
    start = f"Kestrel: {error.provider} rejected your API key (HTTP {error.status})"
    if error.had_worked:
        text = (
            f"{start} {DASH} it worked earlier in this session, so this may be a transient "
            f"auth/quota issue; retried {error.retries} times with backoff and still failed. "
            "Try again shortly."
        )
    else:
        text = f"{start}. Check that the key is correct and active."
    if error.server_said:
        # A gateway's explanation ("key expired", "not allowed for this model") is the user's
        # best clue, so it is quoted after the fixed text.
        text += f' The server said: "{error.server_said}"'
    return text


def _quota(error: QuotaExhaustedError, _client: str | None) -> str:
    text = (
        f"Kestrel: {error.provider} says the account's quota or balance is exhausted "
        f"(HTTP {error.status})."
    )
    return f"{text} {error.detail}" if error.detail else text


def _rate_limited(error: RateLimitedError, _client: str | None) -> str:
    text = (
        f"Kestrel: {error.provider} is rate-limiting requests (HTTP 429); "
        f"retried {error.retries} times."
    )
    if error.wait_s is not None:
        text += f" It asks to wait {error.wait_s:.0f} s before the next request."
    return text


def _redirect(error: RedirectRefusedError, _client: str | None) -> str:
    where = f" to {error.target_origin}" if error.target_origin else ""
    return (
        f"Kestrel: {error.provider} answered HTTP {error.status}: redirected{where}; "
        "Kestrel does not follow redirects."
    )


def _unfinished(error: UnfinishedReplyError, _client: str | None) -> str:
    text = (
        f"Kestrel: {error.provider} stopped before its reply was complete ({error.reason}), "
        "so nothing was applied."
    )
    if error.spent_on_reasoning:
        text += " The model spent its token budget thinking"
        if error.may_think:
            text += '; set kestrel.reasoning to "off" to turn thinking off where it can be.'
        else:
            text += "."
    return text


def _configuration(problem: ConfigurationProblem, _client: str | None) -> str:
    hint = {
        "baseUrl": "the server's URL, e.g. http://127.0.0.1:8000/v1",
        "model": "the model id to use",
    }[problem.setting]
    return f"Kestrel: provider {problem.provider} needs kestrel.{problem.setting} ({hint})."


def _tls_unverified(warning: TlsUnverified, _client: str | None) -> str:
    return (
        f"Kestrel: TLS certificate verification is OFF for {', '.join(warning.hosts)} "
        "(kestrel.http.insecureHosts): anyone on the network path could read your API key. "
        "Prefer kestrel.http.caCerts with your organisation's root CA."
    )


@dataclass(frozen=True)
class _Row:
    severity: int
    state: State | None
    # A template of the fields of what is told ("{provider}"), or (what, client name) -> text.
    text: str | Callable[[Any, str | None], str]
    shown: bool = True


_ANSWERED = "Kestrel: {provider} answered HTTP {status}: "
_TABLE: dict[type, _Row] = {
    MissingKeyError: _Row(ERROR, "missingKey", _missing_key),
    AuthRejectedError: _Row(ERROR, "rejectedKey", _rejected),
    QuotaExhaustedError: _Row(ERROR, "quotaExhausted", _quota),
    RetryBudgetExceeded: _Row(WARNING, "rateLimited", _rate_limited, shown=False),
    RateLimitedError: _Row(WARNING, "rateLimited", _rate_limited),
    ProviderUnavailableError: _Row(
        ERROR, "unreachable", "Kestrel: cannot reach {provider} at {origin}: {reason}."
    ),
    MalformedReplyError: _Row(
        ERROR,
        None,
        "Kestrel: the provider's reply was malformed ({provider} at {origin}: {detail}).",
    ),
    StreamInterruptedError: _Row(
        ERROR,
        None,
        _ANSWERED + "the reply stream was interrupted before it finished; nothing applied.",
    ),
    RedirectRefusedError: _Row(ERROR, None, _redirect),
    UnreadableReplyError: _Row(ERROR, None, _ANSWERED + "the reply could not be read ({why})."),
    ReplyTooLargeError: _Row(
        ERROR, None, _ANSWERED + "{detail}, so it was not read; nothing was applied."
    ),
    ProviderResponseError: _Row(ERROR, None, _ANSWERED + "{message}"),
    ProviderReportedError: _Row(ERROR, None, "Kestrel: {provider} reported an error: {message}"),
    UnfinishedReplyError: _Row(WARNING, None, _unfinished),
    EmptyReplyError: _Row(
        WARNING, None, "Kestrel: {provider} returned an empty reply, so nothing was applied."
    ),
    SettingError: _Row(ERROR, None, "Kestrel: setting {key} is invalid: {problem}. {outcome}"),
    ConfigurationProblem: _Row(ERROR, None, _configuration),
    FileChanged: _Row(
        INFO,
        None,
        "Kestrel: {file_name} changed while the AI was working, so nothing was applied. "
        "Run the action again.",
    ),
    ActionCrashed: _Row(
        ERROR,
        None,
        "Kestrel: the action failed unexpectedly ({error_type}); the server's log has the details.",
    ),
    TlsUnverified: _Row(WARNING, None, _tls_unverified),
}
Event = FileChanged | ActionCrashed | TlsUnverified
Told = ProviderError | SettingError | ConfigurationProblem | Event  # what the table words


def notice_for(what: Told, client_name: str | None = None) -> Notice:
    """The notice for `what`, worded for the client named (`clientInfo.name`)."""
    for kind in type(what).__mro__:
        row = _TABLE.get(kind)
        if row is not None:
            if isinstance(row.text, str):
                text = row.text.format_map(vars(what))
            else:
                text = row.text(what, client_name)
            return Notice(row.severity, row.state, text, row.shown)
    raise LookupError(f"no notice for {type(what).__name__}")


def notice_text(what: Told, client_name: str | None = None) -> str:
    return notice_for(what, client_name).text


def detail_of(what: Told, client_name: str | None = None) -> str:
    """The notice's words without the "Kestrel: " that opens a notice (a setup check step)."""
    return notice_text(what, client_name).removeprefix("Kestrel: ")


# -- status messages and the setup check's summary -------------------------------------------


def ready_text(provider: str) -> str:
    return f"Kestrel: ready ({provider})."


def answered_text(provider: str) -> str:
    return f"Kestrel: {provider} answered."


def setup_passed_text(
    provider: str, model: str | None, base_url: str | None, latency_ms: int | None
) -> str:
    return f"Kestrel: setup check passed for {provider} ({model} at {base_url}, {latency_ms} ms)."


def setup_failed_text(step_title: str, detail: str, fix: str | None) -> str:
    text = f"Kestrel: setup check failed at {step_title}: {detail}"
    return f"{text} Fix: {fix}" if fix else text


# -- the state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    state: State
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

    @property
    def state(self) -> State | None:
        return self._status.state if self._status else None

    @property
    def provider(self) -> str | None:
        return self._status.provider if self._status else None

    def initialized(self) -> None:
        self._ready = True
        if self._status is not None:
            self._flush_status()
        for kind, text in self._pending:
            self._show(kind, text)
        self._pending.clear()

    # -- what features call -----------------------------------------------------------------

    def tell(self, what: Told, *, automatic: bool = False) -> None:
        """The notice for `what`, after the status it moves to. `automatic` (a completion):
        at most once until the state changes."""
        notice = notice_for(what, self.client_name)
        if notice.state is not None and isinstance(what, ProviderError):
            self._set_status(notice.state, what.provider, notice.text)
        if not notice.shown:
            return
        if automatic:
            self._show_once(notice.severity, notice.text)
        else:
            self.show(notice.severity, notice.text)

    def status_from(self, error: ProviderError) -> None:
        """The status `error` implies, without its notice (the setup check's summary is the
        only notice it shows)."""
        notice = notice_for(error, self.client_name)
        if notice.state is not None:
            self._set_status(notice.state, error.provider, notice.text)

    def answered(self, provider: str) -> None:
        """The provider answered: whatever was wrong with the key, quota or network is not."""
        if self.state != "ok":
            self._set_status("ok", provider, answered_text(provider))

    def settings_applied(self, provider: str, missing_key: MissingKeyError | None) -> None:
        """After settings changed: missing key, or ready again when the change may have
        mended what the status says (a new key, or a status about another provider)."""
        if missing_key is not None:
            if self.state != "missingKey":
                self.tell(missing_key, automatic=True)
        elif (
            self.state in (None, "missingKey", "rejectedKey", "quotaExhausted")
            or self.provider != provider
        ):
            self._set_status("ok", provider, ready_text(provider))

    def show(self, kind: int, text: str) -> None:
        if self._ready:
            self._show(kind, text)
        else:
            self._pending.append((kind, text))

    # -- inside -------------------------------------------------------------------------------

    def _show_once(self, kind: int, text: str) -> None:
        if text in self._automatic_shown:
            return
        self._automatic_shown.add(text)
        self.show(kind, text)

    def _set_status(self, state: State, provider: str, message: str) -> None:
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
