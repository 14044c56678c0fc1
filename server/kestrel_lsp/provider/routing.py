"""Where a request goes: direct or through which proxy, and whether its TLS is verified.

Pure functions of the settings and the environment (no I/O), so the session can register a
proxy's password as a secret cheaply and tests read as tables. Host names are compared, resolved,
sent as SNI and as `Host` in one form: their IDNA 2008 ASCII form (`faß.test` is
`xn--fa-hia.test`, never IDNA 2003's `fass.test`).

Rules (the SPEC's, in order):
- loopback (`localhost`, `*.localhost`, 127.0.0.0/8, ::1) is always direct;
- a host in `http.noProxy` or `NO_PROXY` (host, `.suffix`, `*.suffix`, `host:port`, an IP, a
  CIDR block, or `*`) is direct;
- otherwise `http.proxy`, else `HTTPS_PROXY` / `HTTP_PROXY` by the target's scheme, else
  `ALL_PROXY` (lower case wins over upper case, as in Python's urllib).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import attrs

from kestrel_lsp.provider.transport.errors import NetworkSetupError

SUPPORTED_PROXY_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


# Marks a field of a settings class that no settings layer sets: the settings converter skips
# it and so does the extension's settings generator.
NOT_A_SETTING = {"setting": False}


@attrs.frozen
class NetworkSettings:
    """How requests reach a provider. The first four fields are the `kestrel.http` settings;
    the last two are not settings (the session fills them in): the per-attempt timeout, from
    `requestTimeoutMs`, and the environment the proxy and CA variables are read from."""

    proxy: str | None = attrs.field(default=None, repr=False)
    no_proxy: tuple[str, ...] = ()
    ca_certs: str | None = None
    insecure_hosts: tuple[str, ...] = ()
    timeout_s: float = attrs.field(default=30.0, metadata=NOT_A_SETTING)
    env: Mapping[str, str] = attrs.field(
        factory=lambda: dict(os.environ), eq=False, repr=False, metadata=NOT_A_SETTING
    )


class ProxyUrlError(ValueError):
    """A proxy URL that cannot be used. The message names only the proxy's origin."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return cls(scheme, ascii_host(parts.hostname or ""), parts.port or DEFAULT_PORTS[scheme])

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def host_header(self) -> str:
        """`Host` as HTTP/1.1 sends it: the port only when it is not the scheme's default."""
        if self.port == DEFAULT_PORTS[self.scheme]:
            return f"[{self.host}]" if ":" in self.host else self.host
        return self.hostport


def ascii_host(host: str) -> str:
    """The host's IDNA 2008 (UTS 46) ASCII form, lower case; ASCII hosts as they are."""
    host = host.lower()
    if host.isascii():
        return host
    import idna

    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise NetworkSetupError(
            "the host name is not a valid internationalised domain name"
        ) from None


def _ascii_or_lower(host: str) -> str:
    try:
        return ascii_host(host)
    except NetworkSetupError:
        return host.lower()


def env_value(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name.lower()) or env.get(name.upper()) or None


def normalise_proxy_url(url: str) -> str:
    """`proxy.corp:8080` → `http://proxy.corp:8080`; raises ProxyUrlError when unusable."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ProxyUrlError(f"the proxy URL {proxy_origin(url)} has an invalid port") from None
    if not parts.hostname:
        raise ProxyUrlError("the proxy URL has no host")
    if scheme not in SUPPORTED_PROXY_SCHEMES:
        raise ProxyUrlError(
            f"the proxy URL {proxy_origin(url)} uses {scheme}://, "
            "but Kestrel supports http:// and https:// proxies"
        )
    return url


def proxy_origin(url: str) -> str:
    """`scheme://host:port` of a proxy URL: never its user or password."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def proxy_credentials(url: str) -> tuple[str, str] | None:
    """(user, password), percent-decoded, when the proxy URL carries them."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.username is None and parts.password is None:
        return None
    return unquote(parts.username or ""), unquote(parts.password or "")


def proxy_secrets(settings: NetworkSettings) -> Iterator[str]:
    """Every proxy password this configuration may use, as written and percent-decoded."""
    for url in (settings.proxy, *(_env_proxies(settings.env))):
        if not url:
            continue
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.password:
            yield parts.password
            yield unquote(parts.password)


def _env_proxies(env: Mapping[str, str]) -> Iterator[str | None]:
    for name in ("https_proxy", "http_proxy", "all_proxy"):
        yield env.get(name)
        yield env.get(name.upper())


def proxy_for(url: str, settings: NetworkSettings) -> str | None:
    """The proxy URL (as configured) a request to `url` goes through, or None for direct."""
    return proxy_choice(url, settings)[0]


def proxy_choice(url: str, settings: NetworkSettings) -> tuple[str | None, str]:
    """(proxy URL or None, why): why names the setting or variable, or the reason for direct."""
    target = Target.of(url)
    if is_loopback(target.host):
        return None, "loopback is always direct"
    if bypasses_proxy(target, settings):
        return None, "the host is in kestrel.http.noProxy or NO_PROXY"
    if settings.proxy:
        return settings.proxy, "kestrel.http.proxy"
    scheme_variable = "HTTPS_PROXY" if target.scheme == "https" else "HTTP_PROXY"
    for name in (scheme_variable, "ALL_PROXY"):
        for variant in (name.lower(), name):
            if settings.env.get(variant):
                return settings.env[variant], variant
    return None, "no proxy is set"


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def no_proxy_entries(settings: NetworkSettings) -> list[str]:
    entries = list(settings.no_proxy)
    from_env = env_value(settings.env, "NO_PROXY")
    if from_env:
        entries += from_env.replace(" ", ",").split(",")
    return [e.strip().lower() for e in entries if e.strip()]


def bypasses_proxy(target: Target, settings: NetworkSettings) -> bool:
    return any(_entry_matches(entry, target) for entry in no_proxy_entries(settings))


def _entry_matches(entry: str, target: Target) -> bool:
    if entry == "*":
        return True
    if "://" in entry:  # "http://internal.corp" is written too; only the host counts
        entry = entry.split("://", 1)[1].split("/", 1)[0]
    host, port = _split_entry(entry)
    if port is not None and port != target.port:
        return False
    if "/" in host:
        return _in_network(target.host, host)
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(target.host)
    except ValueError:
        pass
    suffix = _ascii_or_lower(host.lstrip("*").lstrip("."))
    return bool(suffix) and (target.host == suffix or target.host.endswith("." + suffix))


def _split_entry(entry: str) -> tuple[str, int | None]:
    """(host or CIDR, port) of a noProxy entry: `host`, `host:port`, `[v6]:port`, a CIDR."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None  # a bare IPv6 address or CIDR, or a host without port


def _in_network(host: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def is_insecure_host(host: str, insecure_hosts: Sequence[str]) -> bool:
    """Whether `host` is listed in `http.insecureHosts` (exact host; a `:port` is ignored)."""
    host = host.strip("[]").lower()
    return any(
        _ascii_or_lower(_split_entry(entry.strip().lower())[0]) == host for entry in insecure_hosts
    )


def usable_proxy_for(url: str, settings: NetworkSettings) -> str | None:
    """`proxy_for`, normalised; a proxy URL that cannot be used raises NetworkSetupError."""
    proxy = proxy_for(url, settings)
    if proxy is None:
        return None
    try:
        return normalise_proxy_url(proxy)
    except ProxyUrlError as exc:
        raise NetworkSetupError(str(exc)) from None


@dataclass(frozen=True)
class Route:
    """How one URL is reached: its target, the proxy (normalised) if any, verified TLS or not."""

    target: Target
    proxy: str | None = field(repr=False)
    insecure: bool

    @classmethod
    def of(cls, url: str, settings: NetworkSettings) -> Route:
        target = Target.of(url)
        insecure = target.scheme == "https" and is_insecure_host(
            target.host, settings.insecure_hosts
        )
        return cls(target, usable_proxy_for(url, settings), insecure)
