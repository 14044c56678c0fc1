"""TLS for providers and proxies: the system trust store plus SSL_CERT_FILE /
REQUESTS_CA_BUNDLE and `http.caCerts`; verification off only for `http.insecureHosts`."""

from __future__ import annotations

import os
import ssl

from kestrel_lsp.provider.routing import NetworkSettings
from kestrel_lsp.provider.transport.errors import NetworkSetupError, TlsFailure, TlsKind

# OpenSSL's X509_V_ERR_* codes, as `ssl.SSLCertVerificationError.verify_code` carries them.
_CERT_HAS_EXPIRED = 10
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64
# `ssl.SSLError.reason` when the peer answered the handshake with something that is not TLS.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})


def trust_context(settings: NetworkSettings) -> ssl.SSLContext:
    """The system trust store, plus SSL_CERT_FILE / REQUESTS_CA_BUNDLE and `http.caCerts`."""
    import truststore

    ctx = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for source, path in extra_ca_files(settings):
        try:
            ctx.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise NetworkSetupError(f"{source} ({path}) {_unreadable_pem(exc)}") from None
    return ctx


def insecure_context() -> ssl.SSLContext:
    """TLS without verification, for the hosts listed in `http.insecureHosts` only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def extra_ca_files(settings: NetworkSettings) -> list[tuple[str, str]]:
    """(where it was set, path) of each extra CA file, in load order."""
    files = []
    for source, value in (
        ("SSL_CERT_FILE", settings.env.get("SSL_CERT_FILE")),
        ("REQUESTS_CA_BUNDLE", settings.env.get("REQUESTS_CA_BUNDLE")),
        ("kestrel.http.caCerts", settings.ca_certs),
    ):
        if value:
            files.append((source, os.path.expanduser(value)))
    return files


def _unreadable_pem(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied)"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a PEM file"
    return "holds no PEM certificate Kestrel can load"


class TlsContexts:
    """The verifying context (built once, on first use: plain http never loads the trust
    store) and the insecure one."""

    def __init__(self, settings: NetworkSettings) -> None:
        self._settings = settings
        self._verified: ssl.SSLContext | None = None
        self._insecure: ssl.SSLContext | None = None

    def verified(self) -> ssl.SSLContext:
        if self._verified is None:
            self._verified = trust_context(self._settings)
        return self._verified

    def insecure(self) -> ssl.SSLContext:
        if self._insecure is None:
            self._insecure = insecure_context()
        return self._insecure

    def context(self, *, insecure: bool) -> ssl.SSLContext:
        return self.insecure() if insecure else self.verified()


def tls_failure(exc: ssl.SSLError, proxy: str | None = None) -> TlsFailure:
    """The typed failure for a handshake error, from its OpenSSL codes (not its text)."""
    kind: TlsKind = "other"
    reason = (exc.reason or type(exc).__name__).replace("_", " ").lower()
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        if code in (_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH):
            kind = "hostname"
        elif code == _CERT_HAS_EXPIRED:
            kind = "expired"
        else:
            kind = "untrusted"
        reason = str(exc.verify_message or reason)
    elif exc.reason in _NOT_TLS:
        kind = "plain-http"
    return TlsFailure(kind, reason, proxy=proxy)
