"""The warning that TLS verification is off (`kestrel.http.insecureHosts`).

Shown as a Warning notice, and logged, once per session for each listed host: the first
settings that list it, not every request. Listing a host is the opt-in; the warning is the
reminder that a key sent there can be read by anyone on the network path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kestrel_lsp.features.notices import Notices, TlsUnverified

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
        log.warning(
            "TLS certificate verification is off for %s (kestrel.http.insecureHosts)",
            ", ".join(new),
        )
        self._notices.tell(TlsUnverified(tuple(new)))
