"""Your own AI actions in real VS Code (code-server in headless Chromium): an action defined in
the user settings (`kestrel.actions`) appears in the Quick Fix menu (Ctrl+.) beside the built-in
ones and, chosen, edits the file. (Issue 16, "Must show".)"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import harness as h
from .conftest import Session, base_settings
from .test_vscode_e2e import (
    FUNCTION_LINE,
    MISSING,
    SAMPLE,
    error_toasts,
    sample_path,
    wait_for_edit_on_disk,
)

pytestmark = [pytest.mark.vscode, pytest.mark.timeout(900)]

TYPE_HINTS = {
    "title": "Add type hints",
    "instruction": "Add type hints to every parameter and the return value. Change nothing else.",
}
# What the model answers (scripted): the function with the hints the instruction asked for.
TYPED = (
    "```python\n"
    "def total_value(items: list[Item]) -> float:\n"
    "    total = 0.0\n"
    "    for item in items:\n"
    "        total += item.price * item.quantity\n"
    "    return total\n"
    "```"
)


def test_own_action_from_user_settings_appears_in_quick_fix_and_edits(
    open_vscode: Callable[..., Session],
) -> None:
    with h.Simulator("ok") as sim:
        sim.set_script({"reply": TYPED})
        settings = base_settings() | {"kestrel.baseUrl": sim.url, "kestrel.actions": [TYPE_HINTS]}
        session = open_vscode(settings)
        wb = session.wb
        wb.wait_toast(MISSING, timeout=90)
        wb.clear_toasts()
        wb.set_api_key(session.key("own-action"))
        original = sample_path(session).read_text()

        wb.open_file(SAMPLE)
        wb.go_to_line(FUNCTION_LINE)
        rows = wb.open_quick_fix()
        titles = [row.split(",")[0] for row in rows]
        assert "Kestrel: Add type hints" in titles, rows
        assert "Kestrel: Add docstring" in titles, rows  # beside the built-in ones
        assert sim.count() == 0, "listing the actions asks the provider nothing"
        wb.screenshot("7-custom-action-menu.png")

        wb.choose_code_action("Kestrel: Add type hints")
        edited = wait_for_edit_on_disk(session, original)
        wb.screenshot("7-custom-action-applied.png")
        assert "def total_value(items: list[Item]) -> float:" in edited
        untyped = edited.replace("(items: list[Item]) -> float:", "(items):")
        assert untyped.replace("total = 0.0", "total = 0") == original, "only that function changed"
        assert len(sim.provider_requests()) == 1
        assert not error_toasts(session), error_toasts(session)
