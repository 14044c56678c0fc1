"""`kestrel.checkSetup`: settings, key, reachability, key accepted, model, latency."""

from __future__ import annotations

from typing import Any


async def run_check(host: Any) -> dict[str, Any]:
    raise NotImplementedError
