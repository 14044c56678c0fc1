"""Network failures in plain words, and how the provider client classifies them: which are
retried, which end at once, which name the proxy — with mock transports and, where the real
thing matters (a proxy's 407, trust stores), a real proxy process and a TLS simulator."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from kestrel_lsp.provider.auth import AuthTracker
from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
from kestrel_lsp.provider.errors import MissingKeyError, ProviderUnavailableError
from kestrel_lsp.provider.http import HttpClientFactory, NetworkSetupError
from kestrel_lsp.provider.network import TLS_NOT_TRUSTED, describe
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.wire import ChatPrompt
from kestrel_lsp.simulator.server import SimulatorServer

from forward_proxy import ForwardProxy
from net_helpers import MAPPED_HOST, PROXY_CANARY, TlsFiles
from provider_fakes import CANARY, RecordingSleep, Script

PROMPT = ChatPrompt(system="s", user="u")
PROXY = f"http://kestrel:{PROXY_CANARY}@proxy.corp:3128"
SSL_NOT_TRUSTED = (
    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
    "certificate (_ssl.c:1006)"
)


@pytest.mark.parametrize(
    ("exc", "proxy", "reason"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), None,
         "DNS lookup failed (the host name does not resolve)"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), None,
         "DNS lookup failed (the host name does not resolve)"),
        (httpx.ConnectError("[Errno 111] Connection refused"), None, "connection refused"),
        (httpx.ConnectTimeout("timed out"), None, "connection timed out"),
        (httpx.ReadTimeout("timed out"), None,
         "no answer before the timeout (kestrel.requestTimeoutMs)"),
        (httpx.ConnectError(SSL_NOT_TRUSTED), None, TLS_NOT_TRUSTED),
        (httpx.ConnectError(SSL_NOT_TRUSTED), PROXY, TLS_NOT_TRUSTED),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                            "Hostname mismatch, certificate is not valid for 'a.test'"), None,
         "TLS certificate is for another host name"),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                            "certificate has expired"), None, "TLS certificate has expired"),
        (httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number"), None,
         "TLS handshake failed (does the server speak plain HTTP? try http://)"),
        (httpx.ProxyError("407 Proxy Authentication Required"), PROXY,
         "the proxy http://proxy.corp:3128 answered HTTP 407 Proxy Authentication Required "
         "(it wants a user and password: put them in the proxy URL, "
         "http://user:password@host:port)"),
        (httpx.ProxyError("502 Bad Gateway"), PROXY,
         "the proxy http://proxy.corp:3128 answered HTTP 502 Bad Gateway when asked to connect "
         "to the host"),
        (httpx.ConnectError("[Errno 111] Connection refused"), PROXY,
         "the proxy http://proxy.corp:3128 refused the connection"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), PROXY,
         "the proxy http://proxy.corp:3128 cannot be found (its host name does not resolve)"),
        (NetworkSetupError("kestrel.http.caCerts (/x.pem) does not exist"), None,
         "kestrel.http.caCerts (/x.pem) does not exist"),
    ],
)  # fmt: skip
def test_reasons_in_plain_words(exc: BaseException, proxy: str | None, reason: str) -> None:
    assert describe(exc, proxy) == reason
    assert PROXY_CANARY not in describe(exc, proxy)


def client_with(
    settings: NetworkSettings,
    *,
    base_url: str = "https://api.example.test",
    script: Script | None = None,
    provider: str = "deepseek",
    key: str | None = CANARY,
) -> tuple[ProviderClient, RecordingSleep]:
    sleep = RecordingSleep()
    factory = HttpClientFactory(settings, transport_factory=script.transport if script else None)
    config = ProviderConfig(PRESETS[provider], base_url, "m", key)
    return ProviderClient(config, AuthTracker(), factory, sleep=sleep, rand=lambda: 0.0), sleep


async def unreachable(client: ProviderClient) -> str:
    try:
        with pytest.raises(ProviderUnavailableError) as err:
            await client.chat(PROMPT, stream=False)
    finally:
        await client.aclose()
    return err.value.notice


async def test_dns_failure_is_retried_then_unreachable() -> None:
    script = Script([], then=_raise(httpx.ConnectError("[Errno -2] Name or service not known")))
    client, sleep = client_with(NetworkSettings(env={}), script=script)
    notice = await unreachable(client)
    assert notice == (
        "Kestrel: cannot reach deepseek at https://api.example.test: "
        "DNS lookup failed (the host name does not resolve)."
    )
    assert len(script.requests) == 3 and len(sleep.delays) == 2


async def test_connect_407_ends_at_once_naming_the_proxy() -> None:
    script = Script([], then=_raise(httpx.ProxyError("407 Proxy Authentication Required")))
    client, sleep = client_with(NetworkSettings(proxy=PROXY, env={}), script=script)
    notice = await unreachable(client)
    assert notice.startswith(
        "Kestrel: cannot reach deepseek at https://api.example.test: "
        "the proxy http://proxy.corp:3128 answered HTTP 407"
    )
    assert len(script.requests) == 1 and sleep.delays == []
    assert PROXY_CANARY not in notice


async def test_connect_502_is_retried_like_a_network_error() -> None:
    script = Script([], then=_raise(httpx.ProxyError("502 Bad Gateway")))
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
    script = Script([], then=lambda: httpx.Response(401, json={"error": {"message": "no key"}}))
    client, _ = client_with(
        NetworkSettings(env={}), script=script, provider="openai-compatible", key=None
    )
    with pytest.raises(MissingKeyError) as err:
        await client.chat(PROMPT, stream=False)
    assert err.value.notice.startswith(
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


def _raise(exc: Exception) -> Callable[[], httpx.Response]:
    def answer() -> httpx.Response:
        raise exc

    return answer
