"""LiteLLM's `custom_auth` hook for Kestrel's gateway tests: real 401s (and a real budget error)
without LiteLLM's key database. Loaded by the LiteLLM proxy in its own virtualenv.

Each call appends one line to $KESTREL_GATEWAY_LOG: which kind of key came (never the key), the
path and the User-Agent, so a test can count the requests that reached the gateway."""

from __future__ import annotations

import json
import os

import litellm
from fastapi import Request
from litellm.proxy._types import UserAPIKeyAuth

GOOD_KEY = os.environ.get("KESTREL_GATEWAY_GOOD_KEY", "")
BUDGET_KEY = os.environ.get("KESTREL_GATEWAY_BUDGET_KEY", "")
LOG = os.environ.get("KESTREL_GATEWAY_LOG", "")


def _log(kind: str, request: Request) -> None:
    if LOG:
        entry = {
            "key": kind,
            "path": request.url.path,
            "user_agent": request.headers.get("user-agent"),
        }
        with open(LOG, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    if GOOD_KEY and api_key == GOOD_KEY:
        _log("good", request)
        return UserAPIKeyAuth(api_key=api_key, key_alias="kestrel-tests")
    if BUDGET_KEY and api_key == BUDGET_KEY:
        _log("over-budget", request)
        # A virtual key over its budget: LiteLLM's own error, as its budget checks raise it.
        raise litellm.BudgetExceededError(current_cost=1.02, max_budget=1.0)
    _log("unknown", request)
    raise Exception("Invalid proxy key: this virtual key is not known to the gateway.")
