"""The line store and the reply-to-edit helpers."""

from __future__ import annotations

import pytest

from kestrel_lsp.documents import DocumentStore, PositionError
from kestrel_lsp.features.edits import reindent, replacement_for, strip_fences


def doc(text: str, encoding: str = "utf-16"):
    store = DocumentStore()
    store.encoding = encoding
    return store.open("file:///a.py", "python", 1, text)


def test_incremental_edits_match_a_plain_string_model() -> None:
    document = doc("ab\ncd\r\nef")
    document.apply_change(document.offset_of(0, 1), document.offset_of(1, 1), "X\nY")
    assert document.text == "aX\nYd\r\nef"
    document.apply_change(document.offset_of(2, 2), document.offset_of(2, 2), "\n")
    assert document.text == "aX\nYd\r\nef\n" and document.lines[-1] == ""
    document.apply_change(document.offset_of(0, 0), document.offset_of(3, 0), "")
    assert document.text == "" and document.lines == [""]


def test_utf16_positions() -> None:
    document = doc("a😀b\n")
    assert document.offset_of(0, 3) == (0, 2)  # the emoji is two UTF-16 units
    assert document.units(0, 2) == 3
    assert document.offset_of(0, 5) == (0, 3)  # past the end of the line: its end
    assert doc("a😀b", "utf-32").offset_of(0, 2) == (0, 2)


def test_positions_past_the_end_mean_the_end_as_lsp_says() -> None:
    document = doc("one\ntwo\nlast")
    assert document.offset_of(0, 80) == (0, 3)  # a character past its line's end: that end
    assert document.offset_of(1, 4) == (1, 3)  # one past: not the next line's start
    assert document.offset_of(7, 0) == (2, 4)  # a line past the last: the document's end
    assert document.offset_of(7, 99) == (2, 4)
    assert doc("a😀b\n").offset_of(0, 99) == (0, 3)
    with pytest.raises(PositionError, match="negative"):
        document.offset_of(-1, 0)


def test_incremental_change_past_the_end_appends_at_the_end() -> None:
    document = doc("one\ntwo")
    document.apply_change(document.offset_of(1, 50), document.offset_of(9, 0), "!\nthree")
    assert document.text == "one\ntwo!\nthree"
    document.apply_change(document.offset_of(0, 3), document.offset_of(0, 99), "s")
    assert document.text == "ones\ntwo!\nthree"


def test_strip_fences() -> None:
    assert strip_fences("Sure:\n```python\nx = 1\n```\nDone.") == "x = 1\n"
    assert strip_fences("~~~\ny\n~~~") == "y\n"
    assert strip_fences("no fences") == "no fences"
    assert strip_fences("```js\nunclosed") == "unclosed"


def test_reindent_to_the_target() -> None:
    assert reindent("def f():\n    pass\n", "    ") == "    def f():\n        pass"
    assert reindent("        a\n          b", "  ") == "  a\n    b"


def test_replacement_keeps_the_original_line_ending() -> None:
    original = "    def m(self):\r\n        return 1\r\n"
    reply = '```python\ndef m(self):\n    """Doc."""\n    return 1\n```'
    assert replacement_for(reply, original) == (
        '    def m(self):\r\n        """Doc."""\r\n        return 1\r\n'
    )
