"""LiteLLM's `custom_auth` hook for Kestrel's gateway tests: real 401s (and a real budget error)
without LiteLLM's key database. Loaded by the LiteLLM proxy, in its own virtualenv."""

from __future__ import annotations

import os

import litellm
from fastapi import Request
from litellm.proxy._types import UserAPIKeyAuth

GOOD_KEY = os.environ.get("KESTREL_GATEWAY_GOOD_KEY", "")
BUDGET_KEY = os.environ.get("KESTREL_GATEWAY_BUDGET_KEY", "")


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    if GOOD_KEY and api_key == GOOD_KEY:
        return UserAPIKeyAuth(api_key=api_key, key_alias="kestrel-tests")
    if BUDGET_KEY and api_key == BUDGET_KEY:
        # A virtual key over its budget: LiteLLM's own error, as its budget checks raise it.
        raise litellm.BudgetExceededError(current_cost=1.02, max_budget=1.0)
    raise Exception("Invalid proxy key: this virtual key is not known to the gateway.")
