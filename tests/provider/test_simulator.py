"""The provider simulator, over real HTTP: wire formats, fault scripts, the log, TLS, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from httpx_sse import aconnect_sse

from kestrel_lsp.simulator import (
    ScriptError,
    SimulatorProcess,
    SimulatorServer,
    load_script,
    named_scripts,
    parse_script,
)
from kestrel_lsp.simulator.reply_text import task_reply
from kestrel_lsp.simulator.script import ScriptPlayer
from kestrel_lsp.simulator.server import key_id

CANARY = "sk-canary-3f9a7c1e5b2d4f60"
BEARER = {"Authorization": f"Bearer {CANARY}"}
ANTHROPIC_HEADERS = {"x-api-key": CANARY, "anthropic-version": "2023-06-01"}
CODE_PROMPT = "Add a docstring.\n```python\n    def area(r):\n        return 3.14 * r * r\n```\n"
# The default reply to a docstring request: the code back with a docstring for its signature.
EDITED = (
    "```python\n"
    "    def area(r):\n"
    '        """Return the area.\n'
    "\n"
    "        Args:\n"
    "            r: The r value.\n"
    "\n"
    "        Returns:\n"
    "            The area.\n"
    '        """\n'
    "        return 3.14 * r * r\n"
    "```"
)
FIM_PREFIX = "def add(a, b):\n    return a + b\n\n\nprint(add("
SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


def chat(stream: bool = False, content: str = CODE_PROMPT, model: str = "m1") -> dict[str, Any]:
    return {"model": model, "stream": stream, "messages": [{"role": "user", "content": content}]}


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        yield http


async def read_sse(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> list[tuple[str, str]]:
    """(event, data) pairs of a streamed answer, read to the end of the body."""
    async with aconnect_sse(http, "POST", url, json=body, headers=headers) as source:
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [(event.event, event.data) async for event in source.aiter_sse()]


# --- wire formats -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/chat/completions", "/v1/chat/completions"])
async def test_chat_reply_edits_the_last_code_block(
    sim: SimulatorServer, client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(sim.url + path, json=chat(), headers=BEARER)
    assert response.status_code == 200
    reply = response.json()
    assert reply["model"] == "m1"
    assert reply["choices"][0]["message"]["content"] == EDITED
    assert reply["usage"]["total_tokens"] > 0


async def test_chat_stream_ends_with_done(sim: SimulatorServer, client: httpx.AsyncClient) -> None:
    events = await read_sse(client, sim.url + "/chat/completions", chat(stream=True), BEARER)
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(data) for _, data in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == EDITED
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_fim_reply_streaming_and_not(sim: SimulatorServer, client: httpx.AsyncClient) -> None:
    body = {"model": "deepseek-v4-flash", "prompt": FIM_PREFIX, "suffix": ")\n"}
    response = await client.post(sim.url + "/beta/completions", json=body, headers=BEARER)
    assert response.json()["choices"][0]["text"] == "a, b"  # the called function's parameters
    events = await read_sse(client, sim.url + "/beta/completions", {**body, "stream": True}, BEARER)
    assert events[-1][1] == "[DONE]"
    text = "".join(json.loads(data)["choices"][0]["text"] for _, data in events[:-1])
    assert text == "a, b"


async def test_chat_fill_in_the_middle_prompt_gets_a_completion(
    sim: SimulatorServer, client: httpx.AsyncClient
) -> None:
    prompt = "Language: python\nComplete the code at <CURSOR> (fill-in-the-middle).\n"
    body = chat(content=prompt + "total = 0\nprint(tot<CURSOR>)\n")
    body["messages"].insert(0, {"role": "system", "content": "You do fill-in-the-middle."})
    response = await client.post(sim.url + "/chat/completions", json=body, headers=BEARER)
    assert response.json()["choices"][0]["message"]["content"] == "al"  # `total`, completed


async def test_anthropic_messages(sim: SimulatorServer, client: httpx.AsyncClient) -> None:
    url = sim.url + "/v1/messages"
    reply = (await client.post(url, json=chat(), headers=ANTHROPIC_HEADERS)).json()
    assert reply["content"] == [{"type": "text", "text": EDITED}]
    assert reply["stop_reason"] == "end_turn"
    events = await read_sse(client, url, chat(stream=True), ANTHROPIC_HEADERS)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [json.loads(data)["delta"] for name, data in events if name == "content_block_delta"]
    assert all(d["type"] == "text_delta" for d in deltas)
    assert "".join(d["text"] for d in deltas) == EDITED


async def test_reply_text_precedence(client: httpx.AsyncClient) -> None:
    script = {"reply": "from the script", "steps": [{"reply": "from the step"}]}
    async with SimulatorServer(script) as sim:
        url = sim.url + "/chat/completions"
        first = (await client.post(url, json=chat(), headers=BEARER)).json()
        second = (await client.post(url, json=chat(), headers=BEARER)).json()
    assert first["choices"][0]["message"]["content"] == "from the step"
    assert second["choices"][0]["message"]["content"] == "from the script"


def test_the_edit_reply_works_on_the_last_block_and_keeps_its_indent() -> None:
    text = "Rewrite it.\n```js\nold()\n```\nthen\n```ts\n  var a = 1;\n  f(a);\n```"
    assert task_reply(text) == "```ts\n  const a = 1;\n  f(a);\n```"
    assert task_reply("no code here") == "simulated reply"


# --- errors and faults ------------------------------------------------------------------------


async def test_error_bodies_per_wire_format(client: httpx.AsyncClient) -> None:
    script = {"then": {"status": 429, "headers": {"Retry-After": 1}, "message": "slow down"}}
    async with SimulatorServer(script) as sim:
        openai = await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
        anthropic = await client.post(
            sim.url + "/v1/messages", json=chat(), headers=ANTHROPIC_HEADERS
        )
    assert openai.status_code == anthropic.status_code == 429
    assert openai.headers["retry-after"] == "1"
    assert openai.json()["error"]["message"] == "slow down"
    assert anthropic.json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }


async def test_mimo_flaky_cycles_its_statuses(client: httpx.AsyncClient) -> None:
    async with SimulatorServer("mimo-flaky") as sim:
        statuses = [
            (
                await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
            ).status_code
            for _ in range(9)
        ]
    assert statuses == [200, 401, 401, 200, 200, 401, 200, 200, 401]


async def test_reset_is_a_transport_error_then_ok(client: httpx.AsyncClient) -> None:
    async with SimulatorServer("reset") as sim:
        with pytest.raises(httpx.TransportError):
            await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
        response = await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
        assert response.status_code == 200
        assert [r["status"] for r in sim.requests] == ["reset", 200]


async def test_stall_fires_the_client_timeout() -> None:
    async with (
        SimulatorServer("stall") as sim,
        httpx.AsyncClient(timeout=0.3, trust_env=False) as http,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await http.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
        assert sim.requests[0]["status"] == "stall"


async def test_truncated_streams_have_no_end_marker(client: httpx.AsyncClient) -> None:
    script = {"steps": [{"fault": "truncate"}, {"fault": "truncate"}]}
    async with SimulatorServer(script) as sim:
        chat_events = await read_sse(client, sim.url + "/chat/completions", chat(True), BEARER)
        messages = await read_sse(client, sim.url + "/v1/messages", chat(True), ANTHROPIC_HEADERS)
    assert chat_events, "some output before the cut"
    assert "[DONE]" not in [data for _, data in chat_events]
    assert any(name == "content_block_delta" for name, _ in messages)
    assert "message_stop" not in [name for name, _ in messages]


async def test_truncated_plain_body_is_a_protocol_error(client: httpx.AsyncClient) -> None:
    async with SimulatorServer({"steps": [{"fault": "truncate"}]}) as sim:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)


async def test_truncate_before_output_sends_no_event(client: httpx.AsyncClient) -> None:
    async with SimulatorServer({"steps": [{"fault": "truncate-before-output"}]}) as sim:
        events = await read_sse(client, sim.url + "/chat/completions", chat(True), BEARER)
    assert events == []


async def test_stream_error_event(client: httpx.AsyncClient) -> None:
    script = {"then": {"fault": "stream-error"}}
    async with SimulatorServer(script) as sim:
        chat_events = await read_sse(client, sim.url + "/chat/completions", chat(True), BEARER)
        messages = await read_sse(client, sim.url + "/v1/messages", chat(True), ANTHROPIC_HEADERS)
    assert [json.loads(data)["error"]["message"] for _, data in chat_events] == ["overloaded"]
    assert [name for name, _ in messages] == ["error"]
    assert json.loads(messages[0][1])["error"]["type"] == "overloaded_error"


async def test_server_errors_script_includes_an_html_page(client: httpx.AsyncClient) -> None:
    async with SimulatorServer("server-errors") as sim:
        answers = [
            await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
            for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [500, 502, 503, 200]
    assert answers[1].headers["content-type"] == "text/html"
    assert "<center>nginx</center>" in answers[1].text


async def test_garbage_is_not_json(client: httpx.AsyncClient) -> None:
    async with SimulatorServer("garbage") as sim:
        response = await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


async def test_redirect_names_its_location(client: httpx.AsyncClient) -> None:
    target = "https://elsewhere.example/v1/chat/completions"
    async with SimulatorServer({"steps": [{"fault": "redirect", "location": target}]}) as sim:
        response = await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
    assert response.status_code == 307
    assert response.headers["location"] == target


async def test_quota_and_model_scripts(client: httpx.AsyncClient) -> None:
    async with SimulatorServer("quota429") as sim:
        quota = await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
        sim.set_script("unknown-model404")
        missing = await client.post(
            sim.url + "/chat/completions", json=chat(model="nope-1"), headers=BEARER
        )
    assert quota.status_code == 429
    assert quota.json()["error"]["type"] == "insufficient_quota"
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "The model `nope-1` does not exist"


async def test_latency_delays_the_answer(client: httpx.AsyncClient) -> None:
    async with SimulatorServer({"latency_ms": 100, "steps": [{"delay_ms": 150}]}) as sim:
        started = time.monotonic()
        await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
        assert time.monotonic() - started >= 0.25


# --- auth, log, control endpoints -------------------------------------------------------------


async def test_log_is_key_free(sim: SimulatorServer, client: httpx.AsyncClient) -> None:
    await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
    await client.post(sim.url + "/chat/completions", json=chat(), headers={"api-key": CANARY})
    await client.post(sim.url + "/v1/messages", json=chat(True), headers=ANTHROPIC_HEADERS)
    log = (await client.get(sim.url + "/_sim/requests")).json()
    assert CANARY not in json.dumps(log) and CANARY[:12] not in json.dumps(log)
    assert log["count"] == 3
    assert [r["auth_scheme"] for r in log["requests"]] == ["bearer", "api-key", "x-api-key"]
    assert {r["key_id"] for r in log["requests"]} == {key_id(CANARY)}
    assert [r["anthropic_version"] for r in log["requests"]] == [None, None, "2023-06-01"]
    assert [r["stream"] for r in log["requests"]] == [False, False, True]
    assert log["requests"][0]["model"] == "m1"


async def test_missing_key_is_401_unless_not_required(
    sim: SimulatorServer, client: httpx.AsyncClient
) -> None:
    refused = await client.post(sim.url + "/chat/completions", json=chat())
    assert refused.status_code == 401
    assert sim.requests[0]["auth_scheme"] == "none"
    sim.set_script({"require_key": False})
    assert (await client.post(sim.url + "/chat/completions", json=chat())).status_code == 200


async def test_accept_keys_rejects_other_keys_without_using_steps(
    client: httpx.AsyncClient,
) -> None:
    script = {"accept_keys": ["good-key"], "steps": [503], "then": {"status": 200}}
    async with SimulatorServer(script) as sim:
        url = sim.url + "/chat/completions"
        bad = await client.post(url, json=chat(), headers=BEARER)
        first_good = await client.post(url, json=chat(), headers={"api-key": "good-key"})
        second_bad = await client.post(url, json=chat(), headers=BEARER)
    assert [bad.status_code, first_good.status_code, second_bad.status_code] == [401, 503, 401]


async def test_control_endpoints(sim: SimulatorServer, client: httpx.AsyncClient) -> None:
    url = sim.url + "/chat/completions"
    await client.post(url, json=chat(), headers=BEARER)
    assert (
        await client.post(sim.url + "/_sim/script", json={"name": "reject-all"})
    ).status_code == 200
    assert (await client.get(sim.url + "/_sim/requests")).json()["count"] == 0
    assert (await client.post(url, json=chat(), headers=BEARER)).status_code == 401

    assert (await client.post(sim.url + "/_sim/script", json={"steps": [418]})).status_code == 200
    assert (await client.post(url, json=chat(), headers=BEARER)).status_code == 418
    assert (await client.delete(sim.url + "/_sim/requests")).json() == {"cleared": 1}
    assert sim.requests == []

    invalid = await client.post(sim.url + "/_sim/script", json={"steps": [{"fault": "boom"}]})
    assert invalid.status_code == 400
    assert "boom" in invalid.json()["error"]["message"]
    unknown = await client.post(sim.url + "/v2/nowhere", json={}, headers=BEARER)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"]


async def test_keep_alive_reuses_the_connection(
    sim: SimulatorServer, client: httpx.AsyncClient
) -> None:
    await read_sse(client, sim.url + "/chat/completions", chat(True), BEARER)
    await client.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
    assert len({r["peer_port"] for r in sim.requests}) == 1


async def test_fifty_concurrent_requests() -> None:
    limits = httpx.Limits(max_connections=100)
    async with (
        SimulatorServer({"latency_ms": 250}) as sim,
        httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as http,
    ):
        answers = await asyncio.gather(
            *(
                http.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
                for _ in range(50)
            )
        )
        ports = {r["peer_port"] for r in sim.requests}
    assert [a.status_code for a in answers] == [200] * 50
    assert len(sim.requests) == 50
    assert len(ports) > 10  # served on many connections at once, not one after another


# --- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_tls_with_a_trusted_ca(ca: trustme.CA) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with SimulatorServer(ssl_context=server_context) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        async with httpx.AsyncClient(verify=client_context, trust_env=False) as http:
            response = await http.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)
        assert response.json()["choices"][0]["message"]["content"] == EDITED
        async with httpx.AsyncClient(trust_env=False) as untrusting:
            with pytest.raises(httpx.ConnectError):
                await untrusting.post(sim.url + "/chat/completions", json=chat(), headers=BEARER)


# --- scripts ----------------------------------------------------------------------------------


def test_every_named_script_loads() -> None:
    names = named_scripts()
    assert {"ok", "mimo-flaky", "reject-all", "quota402", "slow500ms", "stall"} <= set(names)
    for name in names:
        load_script(name)
    assert load_script("slow500ms").latency_ms == 500


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"steps": [{"fault": "meltdown"}]}, "steps[0].fault"),
        ({"steps": [{"status": "200"}]}, "steps[0].status"),
        ({"steps": [101]}, "steps[0].status"),
        ({"steps": [{"colour": "red"}]}, "colour"),
        ({"then": {"delay_ms": -1}}, "then.delay_ms"),
        ({"accept_keys": "k"}, "accept_keys"),
        ({"steps": {}}, "steps"),
    ],
)
def test_invalid_scripts_are_refused(data: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ScriptError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        parse_script(data)


def test_player_honours_repeat_then_and_cycle() -> None:
    player = ScriptPlayer(parse_script({"steps": [{"status": 401, "repeat": 2}, 200], "then": 503}))
    assert [player.next_step().effective_status for _ in range(5)] == [401, 401, 200, 503, 503]
    cycling = ScriptPlayer(parse_script({"steps": [500, 200], "then": "cycle"}))
    assert [cycling.next_step().effective_status for _ in range(5)] == [500, 200, 500, 200, 500]
    assert parse_script({"steps": [{"fault": "stall"}]}).steps[0].delay_ms == 60_000


# --- the command line, as a child process -----------------------------------------------------


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH")]))
    return env


def test_cli_subprocess_plays_mimo_flaky_without_leaking_the_key() -> None:
    command = [sys.executable, "-m", "kestrel_lsp", "simulate", "--port", "0"]
    child = subprocess.Popen(
        [*command, "--script", "mimo-flaky"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        assert child.stdout is not None
        first_line = child.stdout.readline()
        assert first_line.startswith("listening on http://127.0.0.1:")
        url = first_line.split()[-1]
        with httpx.Client(timeout=5, trust_env=False) as http:
            statuses = [
                http.post(url + "/chat/completions", json=chat(), headers=BEARER).status_code
                for _ in range(4)
            ]
            log = http.get(url + "/_sim/requests").text
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=10)
    assert statuses == [200, 401, 401, 200]
    assert json.loads(log)["count"] == 4
    assert CANARY not in log
    assert CANARY not in first_line + out + err
    assert child.returncode == 0


def test_simulator_process_helper_serves_https(tmp_path: Path, ca: trustme.CA) -> None:
    pem = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    with SimulatorProcess(
        "rate-limited", tls_cert=str(pem), tls_key=str(pem), verify=trusting
    ) as sim:
        assert sim.first_line == f"listening on {sim.url}\n"
        assert sim.url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=trusting, trust_env=False) as http:
            limited = http.post(sim.url + "/v1/chat/completions", json=chat(), headers=BEARER)
            assert limited.headers["retry-after"] == "1"
            assert [r["status"] for r in sim.requests()] == [429]
            sim.set_script("forbidden")
            assert (
                http.post(sim.url + "/chat/completions", json=chat(), headers=BEARER).status_code
                == 403
            )
    assert sim.returncode == 0
    assert CANARY not in sim.stdout + sim.stderr


def test_cli_refuses_an_unknown_script() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kestrel_lsp", "simulate", "--script", "no-such-script"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=20,
    )
    assert result.returncode == 2
    assert "no-such-script" in result.stderr and "mimo-flaky" in result.stderr
    assert result.stdout == ""
