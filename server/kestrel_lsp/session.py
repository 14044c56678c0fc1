"""One workspace session (one server process, `initialize` to `exit`): settings, the key, its
known-good state and the provider client. Features ask the session; it never asks them, and it
knows nothing of LSP.

Settings come in through one door, `apply(layer, section)`: the layer is replaced or merged,
everything is structured again, the secrets are registered and the new problems returned.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import attrs

from kestrel_lsp.provider.errors import MissingKeyError
from kestrel_lsp.provider.presets import PRESETS, Preset, normalise_base_url
from kestrel_lsp.provider.routing import NetworkSettings, proxy_secrets
from kestrel_lsp.secrets import SECRETS
from kestrel_lsp.setting_values import url_secrets
from kestrel_lsp.settings import ResolvedKey, SettingError, Settings, resolve_key, structure
from kestrel_lsp.settings_layers import Layer, SettingsLayers

if TYPE_CHECKING:
    from kestrel_lsp.provider.auth import AuthTracker
    from kestrel_lsp.provider.client import ProviderClient
    from kestrel_lsp.provider.transport.pool import Transport, TransportFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """What known-good is about: this key, with this provider, at this base URL."""

    key: str | None
    provider: str
    base_url: str

    def __repr__(self) -> str:
        return f"Identity(provider={self.provider!r}, base_url={self.base_url!r})"


class ConfigurationProblem(Exception):
    """The settings cannot make a provider client: `setting` (camelCase, "baseUrl" or "model")
    has no value and `provider` has no default for it (openai-compatible)."""

    def __init__(self, provider: str, setting: Literal["baseUrl", "model"]) -> None:
        super().__init__(f"provider {provider} needs kestrel.{setting}")
        self.provider = provider
        self.setting = setting


class Session:
    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,
        transport: Callable[[], Transport] | None = None,
    ) -> None:
        """`transport` makes the provider client's transport (None: the real HTTP stack)."""
        self.env = dict(os.environ if env is None else env)
        self.sleep = sleep
        self._layers = SettingsLayers(self.env)
        self.settings = Settings()
        self.key = ResolvedKey(None, None)
        self.problems: list[SettingError] = []  # every setting refused now
        self._reported: set[SettingError] = set()
        self._make_transport = transport
        self._auth: AuthTracker | None = None
        self._identity: Identity | None = None
        self._client: ProviderClient | None = None
        self._client_signature: tuple[Any, ...] | None = None
        self._http: TransportFactory | None = None
        self._http_signature: NetworkSettings | None = None
        self._retired: list[ProviderClient] = []
        self._resolve()

    # -- settings -------------------------------------------------------------------------

    def apply(self, layer: Layer, section: Any) -> list[SettingError]:
        """Take a client layer as sent; return the problems not reported before.

        A bad value stays in its layer until the client replaces it, so it fails again on every
        later change: only problems that were not already failing are returned."""
        self._layers.put(layer, section)
        self._resolve()
        new = [problem for problem in self.problems if problem not in self._reported]
        self._reported = set(self.problems)
        return new

    def _resolve(self) -> None:
        merged = self._layers.merged()
        for secret in url_secrets(merged):  # before structuring: the setting is refused
            SECRETS.add(secret)
        self.settings, self.problems = structure(merged, self.settings)
        self.key = resolve_key(self.settings, self.env)
        SECRETS.add(self.key.value)  # the one place a key becomes a secret
        for password in proxy_secrets(self.network_settings()):
            SECRETS.add(password)

    @property
    def provider(self) -> str:
        return self.settings.provider

    @property
    def preset(self) -> Preset:
        return PRESETS[self.settings.provider]

    def base_url(self) -> str:
        url = self.settings.base_url or self.preset.base_url
        if not url:
            raise ConfigurationProblem(self.provider, "baseUrl")
        return normalise_base_url(url)

    def model(self) -> str:
        model = self.settings.model or self.preset.model
        if not model:
            raise ConfigurationProblem(self.provider, "model")
        return str(model)

    def missing_key(self) -> MissingKeyError | None:
        """The missing-key error when a keyed provider has no key, else None."""
        return self.preset.missing_key(self.key.value)

    # -- the provider client --------------------------------------------------------------

    def client(self) -> ProviderClient:
        """The provider client for the current settings, rebuilt only when they changed.

        Known-good state survives a rebuild only when key, provider and base URL are the same.
        """
        from kestrel_lsp.provider.auth import AuthTracker
        from kestrel_lsp.provider.client import ProviderClient, ProviderConfig

        settings = self.settings
        base_url = self.base_url()
        model = self.model()
        identity = Identity(self.key.value, settings.provider, base_url)
        if identity != self._identity or self._auth is None:
            self._identity = identity
            self._auth = AuthTracker()
        http = self.http_factory()
        signature = (identity, model, settings.retry, settings.reasoning, id(http), id(self._auth))
        if self._client is None or signature != self._client_signature:
            if self._client is not None:
                self._retired.append(self._client)
            config = ProviderConfig(
                self.preset, base_url, model, self.key.value, settings.retry, settings.reasoning
            )
            self._client = ProviderClient(config, self._auth, http, sleep=self.sleep)
            self._client_signature = signature
        return self._client

    def network_settings(self) -> NetworkSettings:
        timeout_s = self.settings.request_timeout_ms / 1000
        return attrs.evolve(self.settings.http, timeout_s=timeout_s, env=self.env)

    def http_factory(self) -> TransportFactory:
        from kestrel_lsp.provider.transport.pool import TransportFactory

        network = self.network_settings()
        if self._http is None or network != self._http_signature:
            self._http = TransportFactory(network, self._make_transport)
            self._http_signature = network
        return self._http

    @property
    def known_good(self) -> bool:
        return bool(self._auth and self._auth.known_good)

    def key_rejected(self) -> bool:
        """The current key never worked and the provider rejected it (automatic requests wait
        for a new key; explicit actions still try, one request each)."""
        same_key = self._identity is not None and self._identity.key == self.key.value
        return bool(same_key and self._auth and self._auth.rejected)

    async def close(self) -> None:
        clients = [*self._retired, *([self._client] if self._client else [])]
        self._client, self._retired = None, []
        for client in clients:
            try:
                await client.aclose()
            except Exception:  # closing must not stop the rest from closing
                log.warning("closing a provider client failed", exc_info=True)


__all__ = ["ConfigurationProblem", "Session"]
