"""Find the definition a piece of code starts with and read its signature, per language family.

Regular expressions and bracket counting, not parsers: enough for the headers people write
(Python is read with `ast` in python_docs.py). Pure functions, no I/O.
"""

from __future__ import annotations

import re

from kestrel_lsp.simulator.signature_parts import (
    Definition,
    Param,
    balanced,
    body_after,
    definition_line,
    is_annotation,
    read_header,
    returns_a_value,
    split_top_level,
    thrown,
)

KEYWORDS = frozenset(
    "if for while switch catch return sizeof typeof new delete else do try with elif match "
    "using lock foreach until unless defined".split()
)


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
    header = read_header(lines, index)
    if (match := _JS_CLASS.match(header)) is not None:
        return Definition("type", match.group(2), definition_line(lines, index))
    if (match := _JS_ARROW_ONE.match(header)) is not None:
        body = header.split("=>", 1)[1] + "\n" + body_after(lines, index)
        returns_value = not body.strip().startswith("{") or returns_a_value(body)
        return Definition(
            "function",
            match.group(1),
            definition_line(lines, index),
            [Param(match.group(2))],
            returns_value=returns_value,
            throws=thrown(body),
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
        body = after + "\n" + body_after(lines, index)
        is_arrow_expression = "=>" in after and not after.split("=>", 1)[1].strip().startswith("{")
        returns_value = (returns or "").strip() not in ("void", "Promise<void>", "never") and (
            returns is not None or returns_a_value(body) or is_arrow_expression
        )
        name = match.group(1) or "anonymous"
        return Definition(
            "function",
            name,
            definition_line(lines, index),
            _js_params(inside),
            returns=returns,
            returns_value=returns_value and name != "constructor",
            throws=thrown(body),
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
    header = read_header(lines, index)
    if (match := _GO_TYPE.match(header)) is not None:
        return Definition("type", match.group(1), definition_line(lines, index))
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
        definition_line(lines, index),
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
    header = read_header(lines, index)
    if (match := _RUST_TYPE.match(header)) is not None:
        return Definition("type", match.group(2), definition_line(lines, index))
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
        definition_line(lines, index),
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
    header = read_header(lines, index)
    if (match := _TYPE_DECL.match(header)) is not None:
        return Definition("type", match.group(2), definition_line(lines, index))
    body = body_after(lines, index)
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
            definition_line(lines, index),
            _kotlin_params(inside),
            returns=returns,
            returns_value=returns not in (None, "Unit"),
            throws=thrown(body),
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
        definition_line(lines, index),
        _c_like_params(inside),
        returns=returns,
        returns_value=returns is not None and re.sub(r"\s+", "", returns) != "void",
        throws=list(dict.fromkeys(declared + thrown(body))),
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
        or is_annotation(line)
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
