"""`kestrel.checkSetup`: over LSP through the real server, and in-process for the network cases
(a real proxy process, trustme TLS) where a whole server adds nothing but start-up time."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from lsprotocol import types

from kestrel_lsp.features.check_setup import check
from kestrel_lsp.features.setup_report import SetupReport
from kestrel_lsp.provider.transport.pool import Transport
from kestrel_lsp.session import Session
from kestrel_lsp.simulator.server import SimulatorServer

from forward_proxy import ForwardProxy
from lsp_harness import CANARY, Editor, editor
from net_helpers import MAPPED_HOST, PROXY_CANARY, PROXY_USER, TlsFiles, init_for
from provider_fakes import Script, ok_chat

STEP_IDS = ["settings", "key", "reachable", "keyAccepted", "model", "latency"]
DOCSTRING = "refactor.rewrite.kestrel.docstring"


async def run_check(ed: Editor) -> dict[str, Any]:
    result = await ed.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="kestrel.checkSetup")
    )
    assert isinstance(result, dict)
    assert [step["id"] for step in result["steps"]] == STEP_IDS
    # The text an editor shows as it is: the summary, then one line per step.
    lines = result["text"].split("\n")
    assert lines[0] == result["summary"]
    assert [line.split(" ", 1)[0] for line in lines[1:]] == [
        {"pass": "✓", "fail": "✗", "skip": "–"}[step["status"]] for step in result["steps"]
    ]
    return result


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {step["id"]: step["status"] for step in report["steps"]}


def step(report: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["id"] == step_id)


def written_by_server(ed: Editor) -> str:
    return "".join(ed.rec.server_output) + ed.rec.stderr.decode("utf-8", "replace")


# -- over LSP ---------------------------------------------------------------------------------


async def test_all_pass_then_the_key_is_known_good(sim: SimulatorServer) -> None:
    # The check's request succeeds; the next action's 401 is then retried as a known-good key's.
    sim.set_script({"steps": [200, 401, 200]})
    env = {"DEEPSEEK_API_KEY": CANARY}
    async with editor(init=init_for(sim.url, None), env=env) as ed:
        report = await run_check(ed)
        assert report["ok"] is True
        assert set(statuses(report).values()) == {"pass"}
        assert isinstance(report["latencyMs"], int) and report["latencyMs"] >= 0
        assert report["keySource"] == "DEEPSEEK_API_KEY"
        assert "DEEPSEEK_API_KEY" in step(report, "key")["detail"]
        notice = await ed.wait_for_notice("Kestrel: setup check passed")
        assert notice.type == types.MessageType.Info
        assert len(ed.notices) == 1
        assert [(r["model"], r["stream"]) for r in sim.requests] == [("deepseek-v4-flash", False)]
        ed.open()
        resolved = await ed.resolve(await ed.action(DOCSTRING))
        assert resolved.edit is not None
    assert [r["status"] for r in sim.requests] == [200, 401, 200]
    assert CANARY not in json.dumps(report) + written_by_server(ed)


async def test_no_key_sends_nothing_and_says_where_to_set_it(sim: SimulatorServer) -> None:
    async with editor(init=init_for(sim.url, None)) as ed:
        report = await run_check(ed)
        assert report["ok"] is False and report["keySource"] is None
        assert statuses(report) == {
            "settings": "pass",
            "key": "fail",
            "reachable": "pass",  # a connection is opened, but no request is sent
            "keyAccepted": "skip",
            "model": "skip",
            "latency": "skip",
        }
        fix = step(report, "key")["fix"]
        assert "Kestrel: Set API Key" in fix and "kestrel.apiKey" in fix
        assert "DEEPSEEK_API_KEY" in fix
        notice = await ed.wait_for_notice("Kestrel: setup check failed at API key present")
        assert notice.type == types.MessageType.Error
    assert sim.requests == []


async def test_never_worked_key_rejected_costs_one_request_and_leaks_nothing(
    sim: SimulatorServer,
) -> None:
    sim.set_script("reject-all")
    async with editor(init=init_for(sim.url, CANARY)) as ed:
        report = await run_check(ed)
        assert statuses(report)["keyAccepted"] == "fail"
        assert statuses(report)["model"] == statuses(report)["latency"] == "skip"
        assert step(report, "keyAccepted")["detail"].startswith(
            "deepseek rejected your API key (HTTP 401). Check that the key is correct and active."
        )
        notice = await ed.wait_for_notice("Kestrel: setup check failed at API key accepted")
        await ed.wait_for_state("rejectedKey")
        assert [n.message for n in ed.notices] == [notice.message]  # one notice: the summary
    assert len(sim.requests) == 1
    assert CANARY not in json.dumps(report) + repr(ed.notices) + written_by_server(ed)


async def test_unreachable_host_names_dns(sim: SimulatorServer) -> None:
    async with editor(init=init_for("https://nowhere.kestrel.test", CANARY)) as ed:
        report = await run_check(ed)
        reachable = step(report, "reachable")
        assert reachable["status"] == "fail"
        assert reachable["detail"] == "DNS: nowhere.kestrel.test does not resolve."
        assert "kestrel.baseUrl" in reachable["fix"]
        assert [statuses(report)[i] for i in STEP_IDS[3:]] == ["skip"] * 3
        await ed.wait_for_notice("Kestrel: setup check failed at Base URL reachable: DNS")


async def test_unknown_model_is_the_model_step(sim: SimulatorServer) -> None:
    sim.set_script("unknown-model404")
    async with editor(init=init_for(sim.url, CANARY, model="no-such-model")) as ed:
        report = await run_check(ed)
    assert statuses(report)["keyAccepted"] == "pass"
    model = step(report, "model")
    assert model["status"] == "fail"
    assert "The model `no-such-model` does not exist" in model["detail"]
    assert "kestrel.model" in model["fix"]
    assert statuses(report)["latency"] == "skip"
    assert len(sim.requests) == 1


# -- in-process: the network cases ------------------------------------------------------------


@pytest.fixture
async def sessions() -> AsyncIterator[list[Session]]:
    made: list[Session] = []
    yield made
    for session in made:
        await session.close()


def new_session(
    made: list[Session],
    init: dict[str, Any],
    env: dict[str, str] | None = None,
    transport: Callable[[], Transport] | None = None,
) -> Session:
    session = Session(env=env or {}, transport=transport)
    assert session.apply("initializationOptions", init) == []
    made.append(session)
    return session


async def report_for(
    made: list[Session], init: dict[str, Any], env: dict[str, str] | None = None
) -> SetupReport:
    report, _probe = await check(new_session(made, init, env))
    assert [s.id for s in report.steps] == STEP_IDS
    return report


def by_id(report: SetupReport) -> dict[str, str]:
    return {s.id: s.status for s in report.steps}


async def test_https_through_the_proxy_connect_passes(
    tls_sim: SimulatorServer, tls_files: TlsFiles, proxy: ForwardProxy, sessions: list[Session]
) -> None:
    base_url = f"https://{MAPPED_HOST}:{tls_sim.port}"
    http = {"proxy": proxy.url, "caCerts": str(tls_files.ca_pem)}
    report = await report_for(sessions, init_for(base_url, CANARY, http=http))
    assert report.ok, report.text()
    assert report.proxy == proxy.url
    assert "through the proxy" in report.steps[2].detail
    assert "TLS verified" in report.steps[2].detail
    # one tunnel to check reachability (no request in it), one for the check's request
    assert (await proxy.settled_requests())[-2:] == [f"CONNECT {MAPPED_HOST}:{tls_sim.port}"] * 2
    assert len(tls_sim.requests) == 1
    assert sessions[0].known_good


async def test_proxy_407_fails_reachability_without_a_request(
    tls_sim: SimulatorServer, auth_proxy: ForwardProxy, sessions: list[Session]
) -> None:
    base_url = f"https://{MAPPED_HOST}:{tls_sim.port}"
    report = await report_for(sessions, init_for(base_url, CANARY, http={"proxy": auth_proxy.url}))
    reachable = report.steps[2]
    assert reachable.status == "fail"
    assert reachable.detail.startswith(
        f"Proxy: the proxy {auth_proxy.url} answered HTTP 407 Proxy Authentication Required"
    )
    assert reachable.fix is not None and "user and password" in reachable.fix
    assert tls_sim.requests == []


async def test_proxy_password_is_used_and_never_reported(
    tls_sim: SimulatorServer, tls_files: TlsFiles, auth_proxy: ForwardProxy, sessions: list[Session]
) -> None:
    base_url = f"https://{MAPPED_HOST}:{tls_sim.port}"
    env = {"HTTPS_PROXY": auth_proxy.url_with(PROXY_USER, PROXY_CANARY)}
    init = init_for(base_url, CANARY, http={"caCerts": str(tls_files.ca_pem)})
    report = await report_for(sessions, init, env)
    assert report.ok, report.text()
    assert "HTTPS_PROXY" in report.steps[0].detail
    assert PROXY_CANARY not in report.text() and CANARY not in report.text()


async def test_untrusted_tls_names_ca_certs(
    tls_sim: SimulatorServer, sessions: list[Session]
) -> None:
    report = await report_for(sessions, init_for(tls_sim.url, CANARY))
    reachable = report.steps[2]
    assert reachable.detail == "TLS certificate not trusted (set kestrel.http.caCerts)."
    assert reachable.fix is not None and "kestrel.http.caCerts" in reachable.fix
    assert tls_sim.requests == []


async def test_refused_port_names_tcp(sessions: list[Session]) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    report = await report_for(sessions, init_for(f"http://127.0.0.1:{port}", CANARY))
    assert report.steps[2].detail == (
        f"TCP: cannot connect to 127.0.0.1:{port} (127.0.0.1): connection refused."
    )


@pytest.mark.parametrize(
    ("http", "expected"),
    [
        ({"proxy": "socks5://127.0.0.1:1080"}, "uses socks5://"),
        ({"caCerts": "/nonexistent/corp-root.pem"}, "kestrel.http.caCerts"),
    ],
)
async def test_unusable_network_settings_fail_the_first_step(
    http: dict[str, str], expected: str, sessions: list[Session]
) -> None:
    report = await report_for(sessions, init_for("https://api.example.test", CANARY, http=http))
    assert report.steps[0].status == "fail" and expected in report.steps[0].detail
    assert by_id(report)["reachable"] == "skip"


async def test_the_one_request_is_minimal_with_the_configured_model(
    sim: SimulatorServer, sessions: list[Session]
) -> None:
    script = Script([], then=ok_chat)
    session = new_session(sessions, init_for(sim.url, CANARY, model="m-1"), None, script.transport)
    report, _probe = await check(session)
    assert report.ok, report.text()
    [request] = script.requests
    body = request.json
    assert (body["model"], body["max_tokens"], body["stream"]) == ("m-1", 1, False)
    assert sim.requests == []  # reachability opened a connection, and sent nothing


async def test_keyless_server_that_wants_a_key_is_the_missing_key_case(
    sim: SimulatorServer, sessions: list[Session]
) -> None:
    init = {"provider": "openai-compatible", "baseUrl": sim.url, "model": "local"}
    report = await report_for(sessions, init)
    assert by_id(report)["key"] == "pass"
    accepted = report.steps[3]
    assert accepted.status == "fail"
    assert accepted.detail.startswith("API key is missing or unset for openai-compatible.")
    assert len(sim.requests) == 1


async def test_an_invalid_setting_fails_its_step_and_the_rest_goes_on(
    sim: SimulatorServer, sessions: list[Session]
) -> None:
    session = Session(env={})
    sessions.append(session)
    init = init_for(sim.url, CANARY, completion={"debounceMs": "soon"})
    assert [e.key for e in session.apply("initializationOptions", init)] == [
        "kestrel.completion.debounceMs"
    ]
    report, _probe = await check(session)
    assert by_id(report) == {i: "fail" if i == "settings" else "pass" for i in STEP_IDS}
    assert report.steps[0].fix == "Correct kestrel.completion.debounceMs in your editor's settings."
    assert report.summary.startswith("Kestrel: setup check failed at Settings valid: Invalid:")


async def test_missing_base_url_is_a_settings_failure(sessions: list[Session]) -> None:
    report = await report_for(sessions, {"provider": "openai-compatible"})
    assert report.steps[0].status == "fail"
    assert "needs kestrel.baseUrl" in report.steps[0].detail
    assert [s.status for s in report.steps[2:]] == ["skip"] * 4


def test_report_json_is_camel_case() -> None:
    from kestrel_lsp.features.setup_report import CheckStep, to_json

    report = SetupReport(
        ok=True,
        provider="deepseek",
        base_url="https://api.deepseek.com",
        model="m",
        key_source="setting",
        proxy=None,
        latency_ms=12,
        summary="s",
        steps=[CheckStep.passed("settings", "fine.")],
    )
    data = to_json(report)
    assert data["baseUrl"] == "https://api.deepseek.com" and data["latencyMs"] == 12
    assert data["keySource"] == "setting"
    assert data["steps"] == [
        {"id": "settings", "title": "Settings valid", "status": "pass", "detail": "fine.",
         "fix": None}
    ]  # fmt: skip
    assert data["text"] == "s\n✓ Settings valid: fine."  # what an editor shows as it is
