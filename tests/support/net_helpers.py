"""Shared pieces of the network tests: trustme certificates, a canary proxy password, settings."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

PROXY_USER = "kestrel"
PROXY_CANARY = "pw-canary-3f9a1c7e5d"  # a proxy password that must never be written anywhere
MAPPED_HOST = "sim.kestrel.test"  # resolves only through the test proxy
FAST_RETRIES = {"maxRetries": 2, "initialDelayMs": 1, "maxDelayMs": 2}


@dataclass(frozen=True)
class TlsFiles:
    """A trustme CA and a server certificate for 127.0.0.1, localhost and sim.kestrel.test."""

    ca: trustme.CA
    ca_pem: Path
    server_pem: Path  # certificate chain and private key in one file

    @classmethod
    def make(cls, directory: Path) -> TlsFiles:
        ca = trustme.CA()
        server = ca.issue_cert(MAPPED_HOST, "127.0.0.1", "localhost")
        ca_pem = directory / "ca.pem"
        server_pem = directory / "server.pem"
        ca.cert_pem.write_to_path(str(ca_pem))
        server.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
        return cls(ca, ca_pem, server_pem)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.server_pem))
        return ctx


def init_for(base_url: str, key: str | None, **extra: Any) -> dict[str, Any]:
    """initializationOptions for deepseek at `base_url`, fast retries, plus `extra`."""
    init: dict[str, Any] = {"provider": "deepseek", "baseUrl": base_url, "retry": FAST_RETRIES}
    if key is not None:
        init["apiKey"] = key
    init.update(extra)
    return init
