"""Real networks, through the real server over LSP: a forward proxy process (proxy.py) that alone
knows `sim.kestrel.test`, TLS with trustme certificates, and the provider's own error text.

Each test resolves one code action (or several) and reads the notices, statuses and edits an
editor would see. Retries run with 1-2 ms backoffs; no test waits on a clock.
"""

from __future__ import annotations

from functools import partial

from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from forward_proxy import ForwardProxy
from lsp_harness import CANARY, Editor, editor
from net_helpers import MAPPED_HOST, PROXY_CANARY, PROXY_USER, TlsFiles, init_for

DOCSTRING = "refactor.rewrite.kestrel.docstring"


def more_notices(ed: Editor, seen: int) -> bool:
    return len(ed.notices) > seen


async def docstring_edit(ed: Editor) -> bool:
    """Open the sample, resolve the docstring action; whether an edit came back."""
    ed.open()
    resolved = await ed.resolve(await ed.action(DOCSTRING))
    return resolved.edit is not None


def written_by_server(ed: Editor) -> str:
    return "".join(ed.rec.server_output) + ed.rec.stderr.decode("utf-8", "replace")


def mapped(sim: SimulatorServer) -> str:
    scheme = sim.url.split("://")[0]
    return f"{scheme}://{MAPPED_HOST}:{sim.port}"


# -- proxies ----------------------------------------------------------------------------------


async def test_http_proxy_setting_reaches_a_host_only_the_proxy_knows(
    sim: SimulatorServer, proxy: ForwardProxy
) -> None:
    init = init_for(mapped(sim), CANARY, http={"proxy": proxy.url})
    async with editor(init=init) as ed:
        assert await docstring_edit(ed)
        assert len(sim.requests) == 1
        assert f"POST {MAPPED_HOST}:{sim.port}" in await proxy.settled_requests()
    assert CANARY not in written_by_server(ed)


async def test_https_proxy_variable_tunnels_with_connect(
    tls_sim: SimulatorServer, tls_files: TlsFiles, proxy: ForwardProxy
) -> None:
    init = init_for(mapped(tls_sim), CANARY, http={"caCerts": str(tls_files.ca_pem)})
    async with editor(init=init, env={"HTTPS_PROXY": proxy.url}) as ed:
        assert await docstring_edit(ed)
        assert len(tls_sim.requests) == 1
        assert f"CONNECT {MAPPED_HOST}:{tls_sim.port}" in await proxy.settled_requests()


async def test_no_proxy_host_goes_direct_and_is_unreachable(
    sim: SimulatorServer, proxy: ForwardProxy
) -> None:
    before = await proxy.settled_connections()
    init = init_for(mapped(sim), CANARY, http={"proxy": proxy.url, "noProxy": [MAPPED_HOST]})
    async with editor(init=init) as ed:
        assert not await docstring_edit(ed)
        notice = await ed.wait_for_notice("Kestrel: cannot reach")
        assert notice.type == types.MessageType.Error
        assert notice.message == (
            f"Kestrel: cannot reach deepseek at {mapped(sim)}: "
            "DNS lookup failed (the host name does not resolve)."
        )
        assert (await ed.wait_for_state("unreachable"))["provider"] == "deepseek"
    assert await proxy.settled_connections() == before
    assert sim.requests == []


async def test_loopback_never_touches_the_proxy(sim: SimulatorServer, proxy: ForwardProxy) -> None:
    before = await proxy.settled_connections()
    init = init_for(sim.url, CANARY, http={"proxy": proxy.url})
    env = {"HTTP_PROXY": proxy.url, "ALL_PROXY": proxy.url}
    async with editor(init=init, env=env) as ed:
        assert await docstring_edit(ed)
    assert len(sim.requests) == 1
    assert await proxy.settled_connections() == before


async def test_proxy_407_is_unreachable_never_a_key_notice(
    tls_sim: SimulatorServer, tls_files: TlsFiles, auth_proxy: ForwardProxy
) -> None:
    wrong = auth_proxy.url_with(PROXY_USER, PROXY_CANARY + "-wrong")
    init = init_for(
        mapped(tls_sim), CANARY, http={"proxy": wrong, "caCerts": str(tls_files.ca_pem)}
    )
    async with editor(init=init) as ed:
        assert not await docstring_edit(ed)
        notice = await ed.wait_for_notice("Kestrel: cannot reach")
        assert notice.message.startswith(
            f"Kestrel: cannot reach deepseek at {mapped(tls_sim)}: "
            f"the proxy {auth_proxy.url} answered HTTP 407 Proxy Authentication Required"
        )
        await ed.wait_for_state("unreachable")
        assert not any("API key" in n.message for n in ed.notices)
    assert tls_sim.requests == []
    assert PROXY_CANARY not in written_by_server(ed)
    assert CANARY not in written_by_server(ed)


async def test_proxy_user_and_password_work_and_stay_secret(
    sim: SimulatorServer, auth_proxy: ForwardProxy
) -> None:
    init = init_for(
        mapped(sim), CANARY, http={"proxy": auth_proxy.url_with(PROXY_USER, PROXY_CANARY)}
    )
    async with editor(init=init) as ed:
        assert await docstring_edit(ed)
        assert len(sim.requests) == 1
        report = await ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="kestrel.checkSetup")
        )
        assert report is not None
        assert report["ok"] is True
        assert report["proxy"] == auth_proxy.url  # the origin, without user or password
    everything = written_by_server(ed) + repr(ed.notices) + repr(report)
    assert PROXY_CANARY not in everything
    assert CANARY not in written_by_server(ed)


# -- TLS ----------------------------------------------------------------------------------------


async def test_ca_certs_setting_trusts_a_private_ca(
    tls_sim: SimulatorServer, tls_files: TlsFiles
) -> None:
    async with editor(
        init=init_for(tls_sim.url, CANARY, http={"caCerts": str(tls_files.ca_pem)})
    ) as ed:
        assert await docstring_edit(ed)
        assert not any(n.type == types.MessageType.Warning for n in ed.notices)
    assert len(tls_sim.requests) == 1


async def test_untrusted_certificate_says_so_after_the_retries(tls_sim: SimulatorServer) -> None:
    async with editor(init=init_for(tls_sim.url, CANARY)) as ed:
        assert not await docstring_edit(ed)
        notice = await ed.wait_for_notice("Kestrel: cannot reach")
        assert notice.message == (
            f"Kestrel: cannot reach deepseek at {tls_sim.url}: "
            "TLS certificate not trusted (set kestrel.http.caCerts)."
        )
    assert tls_sim.requests == []  # the handshake failed, so no request was ever read


async def test_insecure_hosts_work_and_warn_once(tls_sim: SimulatorServer) -> None:
    init = init_for(tls_sim.url, CANARY, http={"insecureHosts": ["127.0.0.1"]})
    async with editor(init=init) as ed:
        assert await docstring_edit(ed)
        assert await docstring_edit(ed)
        await ed.change_settings({"kestrel": {"http": {"insecureHosts": ["127.0.0.1"]}}})
        report = await ed.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="kestrel.checkSetup")
        )
        assert report is not None
        assert report["ok"] is True
        assert "TLS NOT verified" in report["steps"][2]["detail"]
        warnings = [n for n in ed.notices if n.type == types.MessageType.Warning]
        assert len(warnings) == 1
        assert warnings[0].message.startswith(
            "Kestrel: TLS certificate verification is OFF for 127.0.0.1"
        )
    assert len(tls_sim.requests) == 3  # two actions and the check's one request
    assert "TLS certificate verification is off for 127.0.0.1" in ed.rec.stderr.decode()


# -- the provider's own words -------------------------------------------------------------------


async def test_quota_and_bad_request_notices_quote_the_provider(sim: SimulatorServer) -> None:
    cases = [
        (
            "quota402",
            "Kestrel: deepseek says the account's quota or balance is exhausted (HTTP 402).",
            "quotaExhausted",
        ),
        (
            "quota429",
            "Kestrel: deepseek says the account's quota or balance is exhausted (HTTP 429).",
            "quotaExhausted",
        ),
        (
            "bad-request400",
            "Kestrel: deepseek answered HTTP 400: Invalid request: 'messages' must not be empty",
            None,
        ),
    ]
    async with editor(init=init_for(sim.url, CANARY)) as ed:
        ed.open()
        for script, text, state in cases:
            sim.set_script(script)
            seen = len(ed.notices)
            resolved = await ed.resolve(await ed.action(DOCSTRING))
            assert resolved.edit is None
            await ed.rec.wait_until(partial(more_notices, ed, seen))
            notice = ed.notices[seen]
            assert notice.type == types.MessageType.Error
            assert notice.message.startswith(text), script
            assert len(sim.requests) == 1, script  # sent exactly once: never retried
            if state is not None:
                assert ed.rec.statuses[-1]["state"] == state
    assert CANARY not in written_by_server(ed)
