"""The provider layer: presets, wire formats, the retry policy and the HTTP client.

Nothing here imports the LSP side. `client` (and with it httpx) is imported lazily by the
session, so answering `initialize` never pays for it.
"""
