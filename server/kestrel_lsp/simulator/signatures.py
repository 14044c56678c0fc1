"""Find the definition a piece of code starts with and read its signature, per language family.

Regular expressions and bracket counting, not parsers: enough for the headers people write
(Python is read with `ast` in docstrings.py). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEYWORDS = frozenset(
    "if for while switch catch return sizeof typeof new delete else do try with elif match "
    "using lock foreach until unless defined".split()
)


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


def _annotation(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(("@", "#[", "[[")) or (
        stripped.startswith("[") and stripped.endswith("]")  # C# attributes
    )


def _header(lines: list[str], start: int) -> str:
    """The header starting at `start`, joined over lines until its parameters close."""
    text = ""
    for line in lines[start : start + 12]:
        text = f"{text} {line.strip()}".strip()
        opened = text.count("(")
        if not opened or opened <= text.count(")"):
            break  # a header without parameters (a type) is one line
    return re.sub(r"\s+", " ", text)


def _first_line(lines: list[str], header: int) -> int:
    """Where a doc comment goes: above the annotations stacked on the header."""
    line = header
    while line > 0 and _annotation(lines[line - 1]):
        line -= 1
    return line


def _body(lines: list[str], header: int) -> str:
    return "\n".join(lines[header + 1 :])


def _returns_value(body: str) -> bool:
    return re.search(r"\breturn\s+[^;\s}]", body) is not None


def _throws(body: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"\bthrow\s+new\s+([\w.]+)", body)))


# -- JavaScript / TypeScript --------------------------------------------------------------------

_JS_FUNCTION = re.compile(
    r"^(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:async\s+)?function\s*\*?\s*([\w$]*)\s*"
    r"(?:<[^(]*>)?\s*\("
)
_JS_ARROW = re.compile(
    r"^(?:export\s+)?(?:const|let|var)\s+([\w$]+)\s*(?::[^=]+)?=\s*(?:async\s+)?"
    r"(?:function\s*\*?\s*[\w$]*\s*)?(?:<[^(]*>)?\s*\("
)
_JS_ARROW_ONE = re.compile(
    r"^(?:export\s+)?(?:const|let|var)\s+([\w$]+)\s*=\s*(?:async\s+)?([\w$]+)\s*=>"
)
_JS_CLASS = re.compile(
    r"^(?:export\s+)?(?:default\s+)?(?:abstract\s+)?(class|interface)\s+([\w$]+)"
)
_JS_METHOD = re.compile(
    r"^(?:(?:public|private|protected|static|async|readonly|override|abstract|get|set)\s+)*"
    r"\*?([\w$]+)\s*(?:<[^(]*>)?\s*\("
)


def _js_params(inside: str) -> list[Param]:
    params = []
    for raw in split_top_level(inside):
        default = None
        if "=" in raw and not raw.startswith(("{", "[")):
            raw, default = (s.strip() for s in raw.split("=", 1))
        if raw.startswith(("{", "[")):
            name, kind = "options", raw.split(":", 1)[1].strip() if "}:" in raw else None
            params.append(Param(name, kind, default))
            continue
        name, _, kind = raw.partition(":")
        optional = name.endswith("?")
        name = name.rstrip("?").strip()
        if name == "this":
            continue
        params.append(Param(name, kind.strip() or None, default or ("" if optional else None)))
    return params


def _js_definition(lines: list[str], index: int) -> Definition | None:
    header = _header(lines, index)
    if (match := _JS_CLASS.match(header)) is not None:
        return Definition("type", match.group(2), _first_line(lines, index))
    if (match := _JS_ARROW_ONE.match(header)) is not None:
        body = header.split("=>", 1)[1] + "\n" + _body(lines, index)
        returns_value = not body.strip().startswith("{") or _returns_value(body)
        return Definition(
            "function",
            match.group(1),
            _first_line(lines, index),
            [Param(match.group(2))],
            returns_value=returns_value,
            throws=_throws(body),
        )
    for pattern in (_JS_FUNCTION, _JS_ARROW, _JS_METHOD):
        match = pattern.match(header)
        if match is None or match.group(1) in KEYWORDS:
            continue
        parts = balanced(header, match.end() - 1)
        if parts is None:
            return None
        inside, after = parts
        returns = None
        if (typed := re.match(r"^\s*:\s*([^{=]+?)\s*(?:=>|\{|$)", after)) is not None:
            returns = typed.group(1).strip()
        body = after + "\n" + _body(lines, index)
        is_arrow_expression = "=>" in after and not after.split("=>", 1)[1].strip().startswith("{")
        returns_value = (returns or "").strip() not in ("void", "Promise<void>", "never") and (
            returns is not None or _returns_value(body) or is_arrow_expression
        )
        name = match.group(1) or "anonymous"
        return Definition(
            "function",
            name,
            _first_line(lines, index),
            _js_params(inside),
            returns=returns,
            returns_value=returns_value and name != "constructor",
            throws=_throws(body),
        )
    return None


# -- Go ---------------------------------------------------------------------------------------

_GO_FUNC = re.compile(r"^func\s+(?:\([^)]*\)\s*)?(\w+)\s*(?:\[[^\]]*\])?\s*\(")
_GO_TYPE = re.compile(r"^type\s+(\w+)\s+(struct|interface|func|\w+)")


def _go_params(inside: str) -> list[Param]:
    pieces = split_top_level(inside)
    params: list[Param] = []
    pending: list[str] = []
    for piece in pieces:
        name, _, kind = piece.partition(" ")
        if kind.strip():
            for waiting in pending:
                params.append(Param(waiting, kind.strip()))
            pending = []
            params.append(Param(name, kind.strip()))
        else:
            pending.append(name)
    params += [Param(name) for name in pending]  # unnamed parameters: types only
    return params


def _go_definition(lines: list[str], index: int) -> Definition | None:
    header = _header(lines, index)
    if (match := _GO_TYPE.match(header)) is not None:
        return Definition("type", match.group(1), _first_line(lines, index))
    match = _GO_FUNC.match(header)
    if match is None:
        return None
    parts = balanced(header, match.end() - 1)
    if parts is None:
        return None
    inside, after = parts
    results = after.split("{", 1)[0].strip().strip("()")
    result_types = [r.split(" ")[-1] for r in split_top_level(results)] if results else []
    return Definition(
        "function",
        match.group(1),
        _first_line(lines, index),
        _go_params(inside),
        returns=results or None,
        returns_value=bool([t for t in result_types if t != "error"]),
        fallible="error" in result_types,
    )


# -- Rust -------------------------------------------------------------------------------------

_RUST_FN = re.compile(
    r"^(?:pub(?:\([^)]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
    r"(?:extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)\s*(?:<[^(]*>)?\s*\("
)
_RUST_TYPE = re.compile(r"^(?:pub(?:\([^)]*\))?\s+)?(struct|enum|trait|union|type)\s+(\w+)")


def _rust_params(inside: str) -> list[Param]:
    params = []
    for piece in split_top_level(inside):
        name, _, kind = piece.partition(":")
        name = name.strip().removeprefix("mut ").strip()
        if name.lstrip("&").removeprefix("mut ").strip() in ("self", "'a self") or not kind:
            continue
        params.append(Param(name, kind.strip()))
    return params


def _rust_definition(lines: list[str], index: int) -> Definition | None:
    header = _header(lines, index)
    if (match := _RUST_TYPE.match(header)) is not None:
        return Definition("type", match.group(2), _first_line(lines, index))
    match = _RUST_FN.match(header)
    if match is None:
        return None
    parts = balanced(header, match.end() - 1)
    if parts is None:
        return None
    inside, after = parts
    returns = None
    if (arrow := re.match(r"^\s*->\s*(.+?)\s*(?:where\b.*)?(?:\{.*)?$", after)) is not None:
        returns = arrow.group(1).strip()
    return Definition(
        "function",
        match.group(1),
        _first_line(lines, index),
        _rust_params(inside),
        returns=returns,
        returns_value=returns not in (None, "()"),
        fallible=bool(returns and re.match(r"^(?:[\w:]+::)?Result\b", returns)),
    )


# -- Java, C#, Kotlin, C, C++ -------------------------------------------------------------------

_MODIFIERS = (
    r"(?:(?:public|private|protected|internal|static|final|abstract|synchronized|native|"
    r"default|override|virtual|async|sealed|extern|unsafe|inline|constexpr|explicit|friend|"
    r"open|suspend|operator|partial|new|readonly)\s+)*"
)
_TYPE_DECL = re.compile(
    r"^" + _MODIFIERS + r"(?:typedef\s+)?(?:data\s+|enum\s+|value\s+)?"
    r"(class|interface|enum|record|struct|union|object)\s+(\w+)"
)
_KOTLIN_FUN = re.compile(r"^" + _MODIFIERS + r"fun\s+(?:<[^>]*>\s*)?(?:[\w.]+\.)?(\w+)\s*\(")
_METHOD = re.compile(
    r"^" + _MODIFIERS + r"(?:<[^>]*>\s+)?(?P<ret>(?:[\w:.]+(?:<[^()]*>)?(?:\[\])*[\s*&]+)+?)"
    r"(?P<name>~?[A-Za-z_]\w*(?:::~?\w+)*)\s*\("
)
_CONSTRUCTOR = re.compile(r"^" + _MODIFIERS + r"(?P<name>[A-Z]\w*)\s*\(")


def _c_like_params(inside: str) -> list[Param]:
    params = []
    for piece in split_top_level(inside):
        piece = piece.strip()
        if piece in ("", "void", "..."):
            continue
        default = None
        if "=" in piece:
            piece, default = (s.strip() for s in piece.split("=", 1))
        piece = re.sub(r"^(?:final|const|in|out|ref|params)\s+", "", piece)
        piece = re.sub(r"@\w+(?:\([^)]*\))?\s*", "", piece)
        match = re.match(r"^(.*?)([A-Za-z_]\w*)\s*((?:\[[^\]]*\])*)$", piece)
        if match is None:
            continue
        kind = (match.group(1) + match.group(3)).strip() or None
        params.append(Param(match.group(2), kind, default))
    return params


def _kotlin_params(inside: str) -> list[Param]:
    params = []
    for piece in split_top_level(inside):
        piece = re.sub(r"^(?:val|var|vararg)\s+", "", piece.strip())
        name, _, kind = piece.partition(":")
        kind, _, default = kind.partition("=")
        params.append(Param(name.strip(), kind.strip() or None, default.strip() or None))
    return params


def _c_like_definition(lines: list[str], index: int) -> Definition | None:
    header = _header(lines, index)
    if (match := _TYPE_DECL.match(header)) is not None:
        return Definition("type", match.group(2), _first_line(lines, index))
    body = _body(lines, index)
    if (match := _KOTLIN_FUN.match(header)) is not None:
        parts = balanced(header, match.end() - 1)
        if parts is None:
            return None
        inside, after = parts
        returns = None
        if (typed := re.match(r"^\s*:\s*([^{=]+?)\s*(?:\{|=|$)", after)) is not None:
            returns = typed.group(1).strip()
        return Definition(
            "function",
            match.group(1),
            _first_line(lines, index),
            _kotlin_params(inside),
            returns=returns,
            returns_value=returns not in (None, "Unit"),
            throws=_throws(body),
        )
    match = _METHOD.match(header)
    constructor = False
    if match is None or match.group("name") in KEYWORDS or match.group("ret").strip() in KEYWORDS:
        match = _CONSTRUCTOR.match(header)
        constructor = True
        if match is None or match.group("name") in KEYWORDS:
            return None
    parts = balanced(header, match.end() - 1)
    if parts is None:
        return None
    inside, after = parts
    throws = re.findall(r"\bthrows\s+([\w.,\s]+?)\s*(?:\{|;|$)", after)
    declared = [t.strip() for t in throws[0].split(",")] if throws else []
    returns = None if constructor else re.sub(r"\s+", " ", match.group("ret")).strip()
    return Definition(
        "function",
        match.group("name"),
        _first_line(lines, index),
        _c_like_params(inside),
        returns=returns,
        returns_value=returns is not None and re.sub(r"\s+", "", returns) != "void",
        throws=list(dict.fromkeys(declared + _throws(body))),
    )


_FAMILIES = {
    "js": _js_definition,
    "go": _go_definition,
    "rust": _rust_definition,
    "c_like": _c_like_definition,
}


def _skippable(line: str) -> bool:
    stripped = line.strip()
    return (
        not stripped
        or _annotation(line)
        or stripped.startswith(("//", "/*", "*", "#include", "#define", "#pragma", "package "))
        or stripped.startswith(("import ", "use "))
    )


def find_definition(code: str, family: str) -> Definition | None:
    """The first definition in `code` for a language family ("js", "go", "rust", "c_like")."""
    reader = _FAMILIES.get(family)
    if reader is None:
        return None
    lines = code.split("\n")
    for index, line in enumerate(lines[:40]):
        if _skippable(line):
            continue
        found = reader(lines, index)
        if found is not None:
            return found
    return None
