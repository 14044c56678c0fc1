"""The provider layer: presets, wire formats, the retry policy and the HTTP client.

Nothing here imports the LSP side. `client` (and with it httpx) is imported lazily by the
session, so answering `initialize` never pays for it.
"""

import importlib.util
import sys

# httpcore runs `import sniffio` on every request (four times per request). sniffio is optional
# (anyio 4 dropped it) and usually absent, and a failed import is not cached: each one searches
# all of sys.path again, about 0.3 ms here, a third of a completion's overhead. Record its absence
# once so the import fails at once; both httpcore and anyio then assume asyncio, as Kestrel runs.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
