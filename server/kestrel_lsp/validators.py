"""attrs validators for values a user sets. Each raises ValueError with the problem in the words
a settings error shows ("expected a number above 0"); the settings converter runs them per field,
so the error names the camelCase key. A leaf module (it imports nothing from Kestrel), so the
provider's own settings classes use it too."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any


def non_negative(_instance: Any, _attribute: Any, value: int) -> None:
    if value < 0:
        raise ValueError("expected a number of 0 or more")


def positive(_instance: Any, _attribute: Any, value: int) -> None:
    if value <= 0:
        raise ValueError("expected a number above 0")


def one_of(values: Collection[str]) -> Callable[[Any, Any, str], None]:
    def check(_instance: Any, _attribute: Any, value: str) -> None:
        if value not in values:
            raise ValueError(f"expected one of {', '.join(values)}")

    return check
