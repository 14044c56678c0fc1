"""The warning that TLS verification is off (`kestrel.http.insecureHosts`).

Shown as a Warning notice, and logged, once per session for each listed host: the first
settings that list it, not every request. Listing a host is the opt-in; the warning is the
reminder that a key sent there can be read by anyone on the network path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kestrel_lsp.features.notices import WARNING, Notices

log = logging.getLogger(__name__)


class InsecureTlsWarning:
    def __init__(self, notices: Notices) -> None:
        self._notices = notices
        self._warned: set[str] = set()

    def settings_applied(self, insecure_hosts: Sequence[str]) -> None:
        new = [h for h in dict.fromkeys(insecure_hosts) if h.lower() not in self._warned]
        if not new:
            return
        self._warned.update(h.lower() for h in new)
        hosts = ", ".join(new)
        text = (
            f"Kestrel: TLS certificate verification is OFF for {hosts} "
            "(kestrel.http.insecureHosts): anyone on the network path could read your API key. "
            "Prefer kestrel.http.caCerts with your organisation's root CA."
        )
        log.warning(
            "TLS certificate verification is off for %s (kestrel.http.insecureHosts)", hosts
        )
        self._notices.show(WARNING, text)
