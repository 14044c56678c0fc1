"""`kestrel.checkSetup`: settings, key, reachability, key accepted, model, latency — in order.

Reachability opens a connection without sending a request. Key, model and latency are judged
from one minimal request with the configured model (`max_tokens` 1, never retried): the only
provider request the check makes, and none at all without a key. A step that needs an earlier
one which failed is skipped. One summary notice: Info when all pass, else Error naming the first
failure. The report (see `setup_report`) never holds the key or a proxy password.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kestrel_lsp.features.host import Host
from kestrel_lsp.features.notices import (
    ERROR,
    INFO,
    detail_of,
    setup_failed_text,
    setup_passed_text,
)
from kestrel_lsp.features.setup_report import CheckStep, SetupReport, StepId, to_json
from kestrel_lsp.provider.errors import (
    AuthRejectedError,
    MissingKeyError,
    ProviderError,
    ProviderResponseError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitedError,
)
from kestrel_lsp.provider.reachability import Reachability, check_reachable
from kestrel_lsp.provider.routing import proxy_choice, proxy_origin
from kestrel_lsp.provider.transport.errors import NetworkSetupError
from kestrel_lsp.provider.wire import ChatPrompt
from kestrel_lsp.session import ConfigurationProblem, Session

log = logging.getLogger(__name__)

PROBE = ChatPrompt(
    system="This is a connectivity check. Reply with one word.",
    user="ping",
    max_tokens=1,
    temperature=0.0,
)
SET_KEY = (
    'Run "Kestrel: Set API Key" in VS Code, or send kestrel.apiKey from your editor\'s settings'
)


@dataclass(frozen=True)
class ProbeOutcome:
    """The check's one request: None error means it succeeded."""

    error: ProviderError | None


@dataclass
class _Context:
    """What the steps learn as they go."""

    session: Session
    client_name: str | None = None  # the report's words about the key follow the editor
    base_url: str | None = None
    model: str | None = None
    proxy: str | None = None
    latency_ms: int | None = None
    steps: list[CheckStep] = field(default_factory=list)
    settings_usable: bool = False  # invalid keys keep earlier values: still usable
    probe: ProbeOutcome | None = None

    def ok(self, step_id: str) -> bool:
        return any(s.id == step_id and s.status == "pass" for s in self.steps)


async def run_check(host: Host) -> dict[str, Any]:
    session, notices = host.session, host.notices
    report, probe = await check(session, notices.client_name)
    if probe is not None and probe.error is None:
        notices.answered(session.provider)
    elif probe is not None and probe.error is not None:
        # The status bar follows what the request showed; the summary is the only notice.
        notices.status_from(probe.error)
    notices.show(ERROR if report.first_failure() else INFO, report.summary)
    log.info("setup check:\n%s", report.text())
    return to_json(report)


async def check(
    session: Session, client_name: str | None = None
) -> tuple[SetupReport, ProbeOutcome | None]:
    """The report, and the outcome of its one request (None when none was sent)."""
    ctx = _Context(session, client_name)
    ctx.steps.append(_settings_step(ctx))
    ctx.steps.append(_key_step(session))
    ctx.steps.append(await _reachable_step(ctx))
    ctx.steps += await _request_steps(ctx)
    return _report(ctx), ctx.probe


# -- 1. settings ----------------------------------------------------------------------------


def _settings_step(ctx: _Context) -> CheckStep:
    session = ctx.session
    try:
        ctx.base_url = session.base_url()
        ctx.model = session.model()
    except ConfigurationProblem as problem:
        detail = detail_of(problem)
        return CheckStep.failed("settings", detail, "Set it in your editor's Kestrel settings.")
    http = session.http_factory()
    try:
        route = http.route(ctx.base_url)
        http.tls.verified()
    except NetworkSetupError as exc:  # a bad proxy URL or CA file
        return CheckStep.failed(
            "settings",
            f"The network settings cannot be used: {exc}.",
            "Correct kestrel.http.proxy / kestrel.http.caCerts (or the variable named).",
        )
    ctx.settings_usable = True
    proxy, why = proxy_choice(ctx.base_url, session.network_settings())
    ctx.proxy = proxy_origin(route.proxy) if route.proxy else None
    errors = session.problems
    if errors:
        names = ", ".join(dict.fromkeys(error.key for error in errors))
        return CheckStep.failed(
            "settings",
            f"Invalid: {errors[0].key} ({errors[0].problem}); earlier values are in use for "
            f"{names}.",
            f"Correct {names} in your editor's settings.",
        )
    network = f"through the proxy {ctx.proxy} (from {why})" if proxy else f"direct ({why})"
    return CheckStep.passed(
        "settings",
        f"Provider {session.provider}, base URL {ctx.base_url}, model {ctx.model}; "
        f"connections go {network}.",
    )


# -- 2. key -----------------------------------------------------------------------------------


def _key_step(session: Session) -> CheckStep:
    preset, key = session.preset, session.key
    if key.value:
        if key.source == "setting":
            where = (
                "the kestrel.apiKey setting (in VS Code: the key you stored with "
                '"Kestrel: Set API Key", kept in SecretStorage)'
            )
        else:
            where = f"the environment variable {key.source}"
        return CheckStep.passed("key", f"Found in {where}.")
    if session.missing_key() is None:
        return CheckStep.passed(
            "key", f"None set; {session.provider} sends none (fine for a local server)."
        )
    names = list(dict.fromkeys(v for v in ("KESTREL_API_KEY", preset.key_variable) if v))
    unset = " and ".join(names) + (" are" if len(names) > 1 else " is")
    return CheckStep.failed(
        "key",
        f"No API key for {session.provider}: no kestrel.apiKey setting, and {unset} unset in "
        "the server's environment.",
        f"{SET_KEY}, or set {' or '.join(names)} in the environment the editor starts the "
        "server in.",
    )


# -- 3. reachability ----------------------------------------------------------------------


async def _reachable_step(ctx: _Context) -> CheckStep:
    if ctx.base_url is None or not ctx.settings_usable:
        return CheckStep.skipped("reachable", "the settings above must be fixed first")
    session = ctx.session
    timeout_s = session.settings.request_timeout_ms / 1000
    result = await check_reachable(ctx.base_url, session.http_factory(), timeout_s)
    if result.ok:
        return CheckStep.passed("reachable", result.detail)
    return CheckStep.failed("reachable", result.detail, _reachability_fix(result))


def _reachability_fix(result: Reachability) -> str:
    phase, detail, proxied = result.failed_phase, result.detail, result.proxy is not None
    if phase == "dns":
        if proxied:
            return "Check the proxy's host name in kestrel.http.proxy (or HTTPS_PROXY)."
        return (
            "Check the host name in kestrel.baseUrl; if your network reaches the internet only "
            "through a proxy, set kestrel.http.proxy (or HTTPS_PROXY)."
        )
    if phase == "tcp":
        if proxied:
            return "Check the proxy's address and port in kestrel.http.proxy (or HTTPS_PROXY)."
        return (
            "Check that the server runs and that the port in kestrel.baseUrl is right; behind a "
            "firewall, set kestrel.http.proxy."
        )
    if phase == "proxy":
        if "407" in detail:
            return "Put the proxy's user and password in its URL: http://user:password@host:port."
        return (
            "Ask whether the proxy allows this host, or add the host to kestrel.http.noProxy "
            "if it is reachable directly."
        )
    if phase == "tls":
        if "not trusted" in detail:
            return (
                "Set kestrel.http.caCerts to a PEM file with your organisation's root CA "
                "(kestrel.http.insecureHosts turns verification off for one host, as a last "
                "resort)."
            )
        return "Check the scheme and host name in kestrel.baseUrl."
    return "Correct the setting named above."


# -- 4-6. one request: key accepted, model known, latency ---------------------------------------


async def _request_steps(ctx: _Context) -> list[CheckStep]:
    ids: tuple[StepId, ...] = ("keyAccepted", "model", "latency")
    if not ctx.ok("key"):
        return [CheckStep.skipped(i, "there is no API key to check") for i in ids]
    if not ctx.ok("reachable"):
        return [CheckStep.skipped(i, "the base URL is not reachable") for i in ids]
    session = ctx.session
    probe = session.client().single_attempt()
    started = time.perf_counter()
    try:
        await probe.chat(PROBE, stream=False)
    except ProviderError as error:
        ctx.probe = ProbeOutcome(error)
        return _judge_failure(ctx, error)
    finally:
        await probe.aclose()
    ctx.latency_ms = round((time.perf_counter() - started) * 1000)
    ctx.probe = ProbeOutcome(None)
    provider = session.provider
    accepted = "accepted the key" if session.key.value else "answered without a key"
    return [
        CheckStep.passed("keyAccepted", f"{provider} {accepted} (HTTP 200)."),
        CheckStep.passed("model", f"{provider} answered with the model {ctx.model}."),
        CheckStep.passed(
            "latency",
            f"{ctx.latency_ms} ms for one minimal request (max_tokens 1), connection set-up "
            "included.",
        ),
    ]


def _judge_failure(ctx: _Context, error: ProviderError) -> list[CheckStep]:
    provider = ctx.session.provider
    skip_latency = CheckStep.skipped("latency", "the check's request did not succeed")
    if _is_model_problem(error):
        assert isinstance(error, ProviderResponseError)
        return [
            CheckStep.passed(
                "keyAccepted",
                f"{provider} took the key; its answer (HTTP {error.status}) is about the model.",
            ),
            CheckStep.failed(
                "model",
                f"{provider} does not know the model {ctx.model}: {error.message}",
                f"Set kestrel.model to a model id {provider} offers"
                + (
                    f" (its default is {ctx.session.preset.model})."
                    if ctx.session.preset.model
                    else "."
                ),
            ),
            skip_latency,
        ]
    skip_model = CheckStep.skipped("model", "the key must be accepted first")
    detail = detail_of(error, ctx.client_name)
    return [
        CheckStep.failed("keyAccepted", detail, _request_fix(ctx, error)),
        skip_model,
        skip_latency,
    ]


def _is_model_problem(error: ProviderError) -> bool:
    return (
        isinstance(error, ProviderResponseError)
        and error.status in (400, 404, 422)
        and "model" in error.message.lower()
    )


def _request_fix(ctx: _Context, error: ProviderError) -> str:
    session, provider = ctx.session, ctx.session.provider
    if isinstance(error, MissingKeyError):
        return f"{SET_KEY}, or set KESTREL_API_KEY: the server at {ctx.base_url} wants one."
    if isinstance(error, AuthRejectedError):
        where = (
            f"correct {session.key.source} in the server's environment"
            if session.key.source not in (None, "setting")
            else 'set it again ("Kestrel: Set API Key" in VS Code)'
        )
        return f"Check that the key is correct and active for {provider}, then {where}."
    if isinstance(error, QuotaExhaustedError):
        return f"Top up the account or check its plan with {provider}; the key itself may be fine."
    if isinstance(error, RateLimitedError):
        return "Run the check again in a minute."
    if isinstance(error, ProviderUnavailableError):
        return "The connection opened a moment ago but the request failed: run the check again."
    return (
        f"Read {provider}'s message above; check that kestrel.baseUrl is the API's URL "
        "(OpenAI-compatible servers usually end in /v1)."
    )


# -- the report ---------------------------------------------------------------------------------


def _report(ctx: _Context) -> SetupReport:
    session = ctx.session
    failure = next((s for s in ctx.steps if s.status == "fail"), None)
    if failure is None:
        summary = setup_passed_text(session.provider, ctx.model, ctx.base_url, ctx.latency_ms)
    else:
        summary = setup_failed_text(failure.title, failure.detail, failure.fix)
    return SetupReport(
        ok=failure is None,
        provider=session.provider,
        base_url=ctx.base_url,
        model=ctx.model,
        key_source=session.key.source,
        proxy=ctx.proxy,
        latency_ms=ctx.latency_ms,
        summary=summary,
        steps=ctx.steps,
    )
