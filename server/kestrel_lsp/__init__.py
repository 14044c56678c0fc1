"""Kestrel: an AI language server that survives a flaky provider gateway."""

__version__ = "0.1.0"
