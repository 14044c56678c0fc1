"""Where the key may go (SPEC, Wire formats and Networks), through the real server:

- a provider redirect to another origin (a second simulator on another port) is never followed,
  for every auth header style, so the second simulator sees no request at all; the notice names
  only the target's origin (no path, no query);
- TLS verification stays on unless the user turns it off for that host: a self-signed HTTPS
  simulator without `http.caCerts` fails with the TLS notice and never reads a request, even
  with other hosts listed in `http.insecureHosts`.
"""

from __future__ import annotations

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import CANARY, editor
from lsp_steps import DOCSTRING, assert_no_secret, deepseek_at, key_id
from net_helpers import TlsFiles

SCHEMES = {"deepseek": "bearer", "mimo": "api-key", "anthropic": "x-api-key"}


@pytest.mark.parametrize("provider", list(SCHEMES))
async def test_a_redirect_to_another_origin_never_carries_the_key(provider: str) -> None:
    async with SimulatorServer("ok") as target, SimulatorServer("ok") as sim:
        init = {**deepseek_at(sim.url), "provider": provider}
        async with editor(init=init) as ed:
            ed.open()
            for status in (301, 302, 303, 307, 308):
                location = f"{target.url}/v1/chat/completions?api_key=stolen#top"
                sim.set_script(
                    {"then": {"status": status, "fault": "redirect", "location": location}}
                )
                before = len(ed.notices)
                resolved = await ed.resolve(await ed.action(DOCSTRING))

                assert resolved.edit is None
                [notice] = ed.notices[before:]
                assert notice.type == types.MessageType.Error
                assert notice.message.startswith(
                    f"Kestrel: {provider} answered HTTP {status}: redirected to {target.url}"
                ), notice.message
                for part in ("/v1/chat", "api_key", "stolen", "#top"):
                    assert part not in notice.message
                # Not retried, and the one request carried the key to the configured origin.
                assert [(r["status"], r["auth_scheme"]) for r in sim.requests] == [
                    (status, SCHEMES[provider])
                ]
                assert sim.requests[0]["key_id"] == key_id(CANARY)
        assert target.requests == []
    assert_no_secret(ed)


async def test_tls_verification_stays_on_for_a_host_not_listed(
    tls_sim: SimulatorServer, tls_files: TlsFiles
) -> None:
    # Other names of this machine are listed as insecure; 127.0.0.1 itself is not.
    init = deepseek_at(tls_sim.url, http={"insecureHosts": ["localhost", "sim.kestrel.test"]})
    async with editor(init=init) as ed:
        ed.open()
        resolved = await ed.resolve(await ed.action(DOCSTRING))
        assert resolved.edit is None
        errors = [n for n in ed.notices if n.type == types.MessageType.Error]
        [notice] = errors
        # The listed hosts get their warning; 127.0.0.1 is not among them.
        assert all("127.0.0.1" not in n.message for n in ed.notices if n not in errors)
        assert notice.message.startswith(
            f"Kestrel: cannot reach deepseek at {tls_sim.url}: TLS certificate not trusted"
        ), notice.message
        assert tls_sim.requests == []  # the handshake failed: no request, no key, was read

        await ed.change_settings({"kestrel": {"http": {"caCerts": str(tls_files.ca_pem)}}})
        resolved = await ed.resolve(await ed.action(DOCSTRING))
        assert resolved.edit is not None  # trusted through the user's CA, still verified
        assert [r["key_id"] for r in tls_sim.requests] == [key_id(CANARY)]
    assert_no_secret(ed)
