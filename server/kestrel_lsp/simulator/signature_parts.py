"""The pieces signatures are read with: what a definition is (`Definition`, `Param`), and
bracket- and quote-aware reading of headers and bodies, shared by every language family."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Param:
    name: str
    type: str | None = None
    default: str | None = None


@dataclass(frozen=True)
class Definition:
    """A function, method or type found at `line` (its first line, annotations included)."""

    kind: str  # "function" or "type"
    name: str
    line: int
    params: list[Param] = field(default_factory=list)
    returns: str | None = None  # the declared result type, when the language declares one
    returns_value: bool = False  # the body returns something
    throws: list[str] = field(default_factory=list)
    fallible: bool = False  # Go `error` result, Rust `Result`


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside (), [], {}, <> and quotes."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current = ""
    for char in text:
        if quote:
            current += char
            if char == quote:
                quote = ""
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{<":
            depth += 1
        elif char in ")]}>" and depth > 0:
            depth -= 1
        if char == sep and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def balanced(text: str, open_index: int) -> tuple[str, str] | None:
    """(inside, after) for the bracket at `open_index`, or None when it never closes."""
    pairs = {"(": ")", "[": "]", "{": "}", "<": ">"}
    opener = text[open_index]
    closer = pairs[opener]
    depth = 0
    for index in range(open_index, len(text)):
        if text[index] == opener:
            depth += 1
        elif text[index] == closer:
            depth -= 1
            if depth == 0:
                return text[open_index + 1 : index], text[index + 1 :]
    return None


def is_annotation(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(("@", "#[", "[[")) or (
        stripped.startswith("[") and stripped.endswith("]")  # C# attributes
    )


def read_header(lines: list[str], start: int) -> str:
    """The header starting at `start`, joined over lines until its parameters close."""
    text = ""
    for line in lines[start : start + 12]:
        text = f"{text} {line.strip()}".strip()
        opened = text.count("(")
        if not opened or opened <= text.count(")"):
            break  # a header without parameters (a type) is one line
    return re.sub(r"\s+", " ", text)


def definition_line(lines: list[str], header: int) -> int:
    """Where a doc comment goes: above the annotations stacked on the header."""
    line = header
    while line > 0 and is_annotation(lines[line - 1]):
        line -= 1
    return line


def body_after(lines: list[str], header: int) -> str:
    return "\n".join(lines[header + 1 :])


def returns_a_value(body: str) -> bool:
    return re.search(r"\breturn\s+[^;\s}]", body) is not None


def thrown(body: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"\bthrow\s+new\s+([\w.]+)", body)))
