"""Network failures in plain words, and how the provider client classifies them: which are
retried, which end at once, which name the proxy — with mock transports and, where the real
thing matters (a proxy's 407, trust stores), a real proxy process and a TLS simulator."""

from __future__ import annotations

import pytest

from kestrel_lsp.features.notices import notice_text
from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.errors import MissingKeyError, ProviderUnavailableError
from kestrel_lsp.provider.network import TLS_NOT_TRUSTED, describe
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.errors import (
    ConnectFailure,
    ConnectionClosed,
    DeadlineExceeded,
    DnsFailure,
    MalformedReply,
    NetworkSetupError,
    ProxyRefused,
    TlsFailure,
    TransportError,
)
from kestrel_lsp.provider.transport.pool import TransportFactory
from kestrel_lsp.provider.wire import ChatPrompt
from kestrel_lsp.simulator.server import SimulatorServer

from forward_proxy import ForwardProxy
from net_helpers import MAPPED_HOST, PROXY_CANARY, TlsFiles
from provider_fakes import CANARY, RecordingSleep, Script, json_reply, raising

PROMPT = ChatPrompt(system="s", user="u")
PROXY = f"http://kestrel:{PROXY_CANARY}@proxy.corp:3128"


PROXY_ORIGIN = "http://proxy.corp:3128"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (DnsFailure("api.example.test"), "DNS lookup failed (the host name does not resolve)"),
        (ConnectFailure("refused", "connection refused"), "connection refused"),
        (DeadlineExceeded("t", phase="tcp"), "connection timed out"),
        (DeadlineExceeded("t", phase="response"),
         "no answer before the timeout (kestrel.requestTimeoutMs)"),
        (TlsFailure("untrusted", "unable to get local issuer certificate"), TLS_NOT_TRUSTED),
        (TlsFailure("hostname", "Hostname mismatch"), "TLS certificate is for another host name"),
        (TlsFailure("expired", "certificate has expired"), "TLS certificate has expired"),
        (TlsFailure("plain-http", "wrong version number"),
         "TLS handshake failed (does the server speak plain HTTP? try http://)"),
        (ProxyRefused(407, "Proxy Authentication Required", proxy=PROXY_ORIGIN),
         "the proxy http://proxy.corp:3128 answered HTTP 407 Proxy Authentication Required "
         "(it wants a user and password: put them in the proxy URL, "
         "http://user:password@host:port)"),
        (ProxyRefused(502, "Bad Gateway", proxy=PROXY_ORIGIN),
         "the proxy http://proxy.corp:3128 answered HTTP 502 Bad Gateway when asked to connect "
         "to the host"),
        (ConnectFailure("refused", "connection refused", proxy=PROXY_ORIGIN),
         "the proxy http://proxy.corp:3128 refused the connection"),
        (DnsFailure("proxy.corp", proxy=PROXY_ORIGIN),
         "the proxy http://proxy.corp:3128 cannot be found (its host name does not resolve)"),
        (DeadlineExceeded("t", phase="tcp", proxy=PROXY_ORIGIN),
         "no connection to the proxy http://proxy.corp:3128 before the timeout"),
        (ConnectionClosed("closed", reset=True), "the connection was reset"),
        (ConnectionClosed("closed"), "the connection was closed before a complete answer"),
        (MalformedReply("not valid HTTP/1.1"),
         "the provider's reply was malformed (not valid HTTP/1.1)"),
        (NetworkSetupError("kestrel.http.caCerts (/x.pem) does not exist"),
         "kestrel.http.caCerts (/x.pem) does not exist"),
    ],
)  # fmt: skip
def test_reasons_in_plain_words_by_type(exc: TransportError, reason: str) -> None:
    assert describe(exc) == reason
    assert PROXY_CANARY not in describe(exc)


def test_a_message_that_looks_like_another_failure_does_not_change_the_reason() -> None:
    # Classification is by type: a refused connection whose text mentions DNS is still refused.
    assert describe(ConnectFailure("refused", "Name or service not known")) == (
        "connection refused"
    )


def client_with(
    settings: NetworkSettings,
    *,
    base_url: str = "https://api.example.test",
    script: Script | None = None,
    provider: str = "deepseek",
    key: str | None = CANARY,
) -> tuple[ProviderClient, RecordingSleep]:
    sleep = RecordingSleep()
    factory = TransportFactory(settings, script.transport if script else None)
    config = ProviderConfig(PRESETS[provider], base_url, "m", key)
    return ProviderClient(config, AuthTracker(), factory, sleep=sleep, rand=lambda: 0.0), sleep


async def unreachable(client: ProviderClient) -> str:
    try:
        with pytest.raises(ProviderUnavailableError) as err:
            await client.chat(PROMPT, stream=False)
    finally:
        await client.aclose()
    return notice_text(err.value)


async def test_dns_failure_is_retried_then_unreachable() -> None:
    script = Script([], then=raising(DnsFailure("api.example.test")))
    client, sleep = client_with(NetworkSettings(env={}), script=script)
    notice = await unreachable(client)
    assert notice == (
        "Kestrel: cannot reach deepseek at https://api.example.test: "
        "DNS lookup failed (the host name does not resolve)."
    )
    assert len(script.requests) == 3 and len(sleep.delays) == 2


async def test_connect_407_ends_at_once_naming_the_proxy() -> None:
    script = Script(
        [], then=raising(ProxyRefused(407, "Proxy Authentication Required", proxy=PROXY_ORIGIN))
    )
    client, sleep = client_with(NetworkSettings(proxy=PROXY, env={}), script=script)
    notice = await unreachable(client)
    assert notice.startswith(
        "Kestrel: cannot reach deepseek at https://api.example.test: "
        "the proxy http://proxy.corp:3128 answered HTTP 407"
    )
    assert len(script.requests) == 1 and sleep.delays == []
    assert PROXY_CANARY not in notice


async def test_connect_502_is_retried_like_a_network_error() -> None:
    script = Script([], then=raising(ProxyRefused(502, "Bad Gateway", proxy=PROXY_ORIGIN)))
    client, sleep = client_with(NetworkSettings(proxy=PROXY, env={}), script=script)
    notice = await unreachable(client)
    assert "answered HTTP 502 Bad Gateway when asked to connect to the host" in notice
    assert len(script.requests) == 3 and len(sleep.delays) == 2


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        (NetworkSettings(ca_certs="/nonexistent/corp.pem", env={}),
         "kestrel.http.caCerts (/nonexistent/corp.pem) does not exist"),
        (NetworkSettings(env={"SSL_CERT_FILE": "/nonexistent/bundle.pem"}),
         "SSL_CERT_FILE (/nonexistent/bundle.pem) does not exist"),
        (NetworkSettings(proxy=f"socks5://u:{PROXY_CANARY}@proxy.corp:1080", env={}),
         "the proxy URL socks5://proxy.corp:1080 uses socks5://, but Kestrel supports http:// "
         "and https:// proxies"),
    ],
)  # fmt: skip
async def test_unusable_network_settings_end_at_once(
    settings: NetworkSettings, reason: str
) -> None:
    client, sleep = client_with(settings)
    notice = await unreachable(client)
    assert notice == f"Kestrel: cannot reach deepseek at https://api.example.test: {reason}."
    assert sleep.delays == []


async def test_401_without_a_key_is_the_missing_key_case() -> None:
    script = Script([], then=lambda: json_reply(401, {"error": {"message": "no key"}}))
    client, _ = client_with(
        NetworkSettings(env={}), script=script, provider="openai-compatible", key=None
    )
    with pytest.raises(MissingKeyError) as err:
        await client.chat(PROMPT, stream=False)
    assert notice_text(err.value).startswith(
        "Kestrel: API key is missing or unset for openai-compatible."
    )
    assert len(script.requests) == 1


# -- real sockets --------------------------------------------------------------------------------


async def test_plain_http_407_from_a_real_proxy_is_unreachable(
    sim: SimulatorServer, auth_proxy: ForwardProxy
) -> None:
    before = await auth_proxy.settled_connections()
    settings = NetworkSettings(proxy=auth_proxy.url, env={})
    client, sleep = client_with(settings, base_url=f"http://{MAPPED_HOST}:{sim.port}")
    notice = await unreachable(client)
    assert notice.startswith(
        f"Kestrel: cannot reach deepseek at http://{MAPPED_HOST}:{sim.port}: "
        f"the proxy {auth_proxy.url} answered HTTP 407 Proxy Authentication Required"
    )
    assert sleep.delays == [] and sim.requests == []
    assert await auth_proxy.settled_connections() == before + 1  # one attempt, no retry


async def test_ssl_cert_file_is_trusted(tls_sim: SimulatorServer, tls_files: TlsFiles) -> None:
    settings = NetworkSettings(env={"SSL_CERT_FILE": str(tls_files.ca_pem)})
    client, _ = client_with(settings, base_url=tls_sim.url)
    try:
        assert await client.chat(PROMPT, stream=False)
    finally:
        await client.aclose()
    assert len(tls_sim.requests) == 1


async def test_insecure_hosts_apply_to_the_listed_host_only(tls_sim: SimulatorServer) -> None:
    settings = NetworkSettings(insecure_hosts=("127.0.0.1",), env={})
    listed, _ = client_with(settings, base_url=tls_sim.url)
    try:
        assert await listed.chat(PROMPT, stream=False)
    finally:
        await listed.aclose()
    other, _ = client_with(settings, base_url=f"https://localhost:{tls_sim.port}")
    notice = await unreachable(other)
    assert notice.endswith(f"localhost:{tls_sim.port}: {TLS_NOT_TRUSTED}.")
    assert len(tls_sim.requests) == 1
