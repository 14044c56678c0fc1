"""One workspace session (one server process, `initialize` to `exit`): settings, the key, its
known-good state and the provider client. Features ask the session; it never asks them."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from kestrel_lsp import settings as settings_mod
from kestrel_lsp.documents import DocumentStore
from kestrel_lsp.provider.errors import MissingKeyError, ProviderError
from kestrel_lsp.provider.presets import PRESETS, normalise_base_url
from kestrel_lsp.provider.routing import NetworkSettings, proxy_secrets
from kestrel_lsp.secrets import SECRETS
from kestrel_lsp.setting_values import url_secrets
from kestrel_lsp.settings import ResolvedKey, SettingError, Settings, SettingsLayers

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
    """The settings cannot make a provider client (e.g. openai-compatible without baseUrl)."""


class Session:
    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.layers = SettingsLayers(self.env)
        self.settings = Settings()
        self.key = ResolvedKey(None, None)
        self._setting_errors: set[SettingError] = set()
        self.documents = DocumentStore()
        self.supports_inline_completion = False
        self.supports_resolve = False
        self.supports_progress = False
        self.sleep = sleep
        self._auth: AuthTracker | None = None
        self._identity: Identity | None = None
        self._client: ProviderClient | None = None
        self._client_signature: tuple[Any, ...] | None = None
        self._http: TransportFactory | None = None
        self._http_signature: tuple[Any, ...] | None = None
        self._retired: list[ProviderClient] = []
        self.transport_factory: Callable[[], Transport] | None = None

    # -- settings -------------------------------------------------------------------------

    def update_settings(self) -> list[SettingError]:
        """Re-merge the layers; returns the errors to show (each bad key keeps its value).

        A bad value stays in its layer until the client replaces it, so it fails again on every
        later update: only errors that were not already failing are returned."""
        merged = self.layers.merged()
        for secret in url_secrets(merged):
            SECRETS.add(secret)
        settings, errors = settings_mod.structure(merged, self.settings)
        self.settings = settings
        self.key = settings_mod.resolve_key(settings, self.env)
        SECRETS.add(self.key.value)
        for password in proxy_secrets(self.network_settings()):
            SECRETS.add(password)
        new = [error for error in errors if error not in self._setting_errors]
        self._setting_errors = set(errors)
        return new

    @property
    def provider(self) -> str:
        return self.settings.provider

    @property
    def preset(self) -> Any:
        return PRESETS[self.settings.provider]

    def base_url(self) -> str:
        url = self.settings.base_url or self.preset.base_url
        if not url:
            raise ConfigurationProblem(
                f"Kestrel: provider {self.provider} needs kestrel.baseUrl (the server's URL, "
                "e.g. http://127.0.0.1:8000/v1)."
            )
        return normalise_base_url(url)

    def model(self) -> str:
        model = self.settings.model or self.preset.model
        if not model:
            raise ConfigurationProblem(
                f"Kestrel: provider {self.provider} needs kestrel.model (the model id to use)."
            )
        return str(model)

    def key_missing(self) -> bool:
        return bool(self.preset.needs_key) and not self.key.value

    def missing_key_error(self) -> MissingKeyError:
        return MissingKeyError(self.provider, self.preset.key_variable)

    # -- the provider client --------------------------------------------------------------

    def client(self) -> ProviderClient:
        """The provider client for the current settings, rebuilt only when they changed.

        Known-good state survives a rebuild only when key, provider and base URL are the same.
        """
        from kestrel_lsp.provider.auth import AuthTracker
        from kestrel_lsp.provider.client import ProviderClient, ProviderConfig
        from kestrel_lsp.provider.policy import RetrySettings

        settings = self.settings
        base_url = self.base_url()
        model = self.model()
        identity = Identity(self.key.value, settings.provider, base_url)
        if identity != self._identity or self._auth is None:
            self._identity = identity
            self._auth = AuthTracker()
        retry = RetrySettings(
            max_retries=settings.retry.max_retries,
            max_auth_retries=settings.retry.max_auth_retries,
            initial_delay_s=settings.retry.initial_delay_ms / 1000,
            max_delay_s=settings.retry.max_delay_ms / 1000,
        )
        http = self.http_factory()
        reasoning: Literal["off", "provider"] = (
            "provider" if settings.reasoning == "provider" else "off"
        )
        signature = (identity, model, retry, reasoning, id(http), id(self._auth))
        if self._client is None or signature != self._client_signature:
            if self._client is not None:
                self._retired.append(self._client)
            config = ProviderConfig(
                self.preset, base_url, model, self.key.value, retry, reasoning=reasoning
            )
            self._client = ProviderClient(config, self._auth, http, sleep=self.sleep)
            self._client_signature = signature
        return self._client

    def network_settings(self) -> NetworkSettings:
        http = self.settings.http
        return NetworkSettings(
            proxy=http.proxy,
            no_proxy=http.no_proxy,
            ca_certs=http.ca_certs,
            insecure_hosts=http.insecure_hosts,
            timeout_s=self.settings.request_timeout_ms / 1000,
            env=self.env,
        )

    def http_factory(self) -> TransportFactory:
        from kestrel_lsp.provider.transport.pool import TransportFactory

        network = self.network_settings()
        signature = (network, self.transport_factory)
        if self._http is None or signature != self._http_signature:
            self._http = TransportFactory(network, self.transport_factory)
            self._http_signature = signature
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


__all__ = ["ConfigurationProblem", "ProviderError", "Session"]
