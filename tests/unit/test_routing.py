"""Proxy routing and insecure hosts as tables: pure functions of the settings and environment."""

from __future__ import annotations

import pytest

from kestrel_lsp.provider.routing import (
    NetworkSettings,
    ProxyUrlError,
    is_insecure_host,
    is_loopback,
    normalise_proxy_url,
    proxy_choice,
    proxy_for,
    proxy_origin,
    proxy_secrets,
)
from kestrel_lsp.secrets import SECRETS

CORP = "http://proxy.corp:3128"


def net(setting: str | None = None, bypass: tuple[str, ...] = (), **env: str) -> NetworkSettings:
    """`http.proxy`, `http.noProxy` and the environment."""
    return NetworkSettings(proxy=setting, no_proxy=bypass, env=env)


@pytest.mark.parametrize(
    ("url", "settings", "expected"),
    [
        ("https://api.deepseek.com", net(), None),
        ("https://api.deepseek.com", net(CORP), CORP),
        ("http://api.example.test", net(CORP), CORP),
        ("https://api.deepseek.com", net(HTTPS_PROXY=CORP), CORP),
        ("https://api.deepseek.com", net(https_proxy=CORP), CORP),
        ("https://api.deepseek.com", net(HTTP_PROXY=CORP), None),  # http's, not https's
        ("http://api.example.test", net(HTTP_PROXY=CORP), CORP),
        ("https://api.deepseek.com", net(ALL_PROXY=CORP), CORP),
        ("https://api.deepseek.com", net(all_proxy=CORP, HTTPS_PROXY="http://b:1"), "http://b:1"),
        ("https://api.deepseek.com", net(https_proxy="http://a:1", HTTPS_PROXY="http://b:1"),
         "http://a:1"),  # lower case wins, as in urllib
        ("https://api.deepseek.com", net("http://setting:1", HTTPS_PROXY=CORP), "http://setting:1"),
        # loopback is always direct, whatever is set
        ("http://127.0.0.1:8089", net(CORP, ALL_PROXY=CORP), None),
        ("http://127.5.6.7:8089", net(CORP), None),
        ("http://localhost:11434/v1", net(CORP), None),
        ("http://api.localhost:1", net(CORP), None),
        ("http://[::1]:8089", net(CORP), None),
        # noProxy (the setting) and NO_PROXY (either case)
        ("https://api.deepseek.com", net(CORP, ("api.deepseek.com",)), None),
        ("https://api.deepseek.com", net(CORP, ("deepseek.com",)), None),
        ("https://api.deepseek.com", net(CORP, (".deepseek.com",)), None),
        ("https://api.deepseek.com", net(CORP, ("*.deepseek.com",)), None),
        ("https://api.deepseek.com", net(CORP, ("seek.com",)), CORP),  # not a label suffix
        ("https://api.deepseek.com", net(CORP, ("*",)), None),
        ("https://api.deepseek.com", net(CORP, ("api.deepseek.com:443",)), None),
        ("https://api.deepseek.com", net(CORP, ("api.deepseek.com:8443",)), CORP),
        ("https://api.deepseek.com", net(CORP, NO_PROXY="other.test, deepseek.com"), None),
        ("https://api.deepseek.com", net(CORP, no_proxy="other.test,api.deepseek.com"), None),
        ("https://10.1.2.3:8000", net(CORP, ("10.0.0.0/8",)), None),
        ("https://11.1.2.3:8000", net(CORP, ("10.0.0.0/8",)), CORP),
        ("https://10.1.2.3:8000", net(CORP, ("10.1.2.3",)), None),
        ("https://[fd00::5]:8000", net(CORP, ("fd00::/8",)), None),
        ("https://internal.corp", net(CORP, ("http://internal.corp",)), None),
    ],
)  # fmt: skip
def test_proxy_for(url: str, settings: NetworkSettings, expected: str | None) -> None:
    assert proxy_for(url, settings) == expected


def test_proxy_choice_says_where_it_came_from() -> None:
    assert proxy_choice("https://a.test", net(HTTPS_PROXY=CORP)) == (CORP, "HTTPS_PROXY")
    assert proxy_choice("https://a.test", net(CORP)) == (CORP, "kestrel.http.proxy")
    assert proxy_choice("https://a.test", net(CORP, ("a.test",)))[0] is None
    assert proxy_choice("http://127.0.0.1:1", net(CORP))[1] == "loopback is always direct"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("127.0.0.1", True), ("127.9.9.9", True), ("::1", True),
     ("[::1]", True), ("LOCALHOST", True), ("10.0.0.1", False), ("localhost.example", False),
     ("sim.kestrel.test", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_proxy_urls_are_normalised_or_refused_without_their_password() -> None:
    assert normalise_proxy_url("proxy.corp:3128") == "http://proxy.corp:3128"
    assert normalise_proxy_url(" https://proxy.corp ") == "https://proxy.corp"
    with pytest.raises(ProxyUrlError) as socks:
        normalise_proxy_url("socks5://u:hunter22@proxy.corp:1080")
    assert "socks5://" in str(socks.value) and "hunter22" not in str(socks.value)
    with pytest.raises(ProxyUrlError) as port:
        normalise_proxy_url("http://u:hunter22@proxy.corp:port")
    assert "hunter22" not in str(port.value)
    assert proxy_origin("http://u:hunter22@proxy.corp:3128/") == "http://proxy.corp:3128"


def test_proxy_passwords_from_setting_and_environment_become_secrets() -> None:
    settings = net(
        "http://u:setting%2Fpw-canary@proxy.corp:3128",
        HTTPS_PROXY="http://u:env-pw-canary@proxy.corp:3128",
    )
    found = set(proxy_secrets(settings))
    assert found == {"setting%2Fpw-canary", "setting/pw-canary", "env-pw-canary"}
    for secret in found:
        SECRETS.add(secret)
    text = "a log line with setting/pw-canary and env-pw-canary in it"
    assert "canary" not in SECRETS.redact(text)


@pytest.mark.parametrize(
    ("host", "listed", "insecure"),
    [("api.corp", ["api.corp"], True), ("API.corp", ["api.corp"], True),
     ("api.corp", ["api.corp:8443"], True), ("other.corp", ["api.corp"], False),
     ("::1", ["[::1]"], True), ("api.corp", [], False)],
)  # fmt: skip
def test_is_insecure_host(host: str, listed: list[str], insecure: bool) -> None:
    assert is_insecure_host(host, listed) is insecure
