"""The provider layer: presets, wire formats, the retry policy, the client and its transport.

Nothing here imports the LSP side. `client` (and with it the transport and h11) is imported
lazily by the session, so answering `initialize` never pays for it.
"""
