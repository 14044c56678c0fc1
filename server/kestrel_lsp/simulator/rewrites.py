"""The rewrite action's default reply: the target changed the way a careful reviewer would
change it (the fix action's is in `fixes`). Text rules, not a parser; each is small, checks its
pattern strictly and leaves code it does not recognise alone. Pure functions: the same code
gives the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kestrel_lsp.simulator.docstrings import FAMILY

Rule = Callable[[str], str]

IDENT = r"[A-Za-z_]\w*"


# -- Python ---------------------------------------------------------------------------------------

_SUM_LOOP = re.compile(
    r"^(?P<i>[ \t]*)(?P<v>\w+) = 0\n"
    r"(?P=i)for (?P<x>[\w, ()]+?) in (?P<xs>[^\n]+):\n"
    r"(?P=i)(?P<b>[ \t]+)(?P=v) \+= (?P<e>[^\n]+)\n"
    r"(?!(?P=i)(?P=b))(?:(?P=i)return (?P=v)[ \t]*(?:\n|$))?",
    re.MULTILINE,
)
_APPEND_LOOP = re.compile(
    r"^(?P<i>[ \t]*)(?P<v>\w+) = \[\]\n"
    r"(?P=i)for (?P<x>[\w, ()]+?) in (?P<xs>[^\n]+):\n"
    r"(?:(?P=i)(?P<b>[ \t]+)if (?P<c>[^\n]+):\n(?P=i)(?P=b)[ \t]+|(?P=i)[ \t]+)"
    r"(?P=v)\.append\((?P<e>[^\n]+)\)[ \t]*\n"
    r"(?!(?P=i)[ \t])(?:(?P=i)return (?P=v)[ \t]*(?:\n|$))?",
    re.MULTILINE,
)
_SEARCH_LOOP = re.compile(
    r"^(?P<i>[ \t]*)for (?P<x>\w+) in (?P<xs>[^\n]+):\n"
    r"(?P=i)(?P<b>[ \t]+)if (?P<c>[^\n]+):\n"
    r"(?P<body>(?:(?P=i)(?P=b)[ \t]+[^\n]*\n)*?)"
    r"(?P=i)(?P=b)(?P<b2>[ \t]+)return (?P=x)[ \t]*\n"
    r"(?P=i)(?P<last>(?:raise|return)\b[^\n]*)(?:\n|$)",
    re.MULTILINE,
)
_BOOL_RETURN = re.compile(
    r"^(?P<i>[ \t]*)if (?P<c>[^\n]+):\n"
    r"(?P=i)[ \t]+return (?P<a>True|False)[ \t]*\n"
    r"(?:(?P=i)else:\n(?P=i)[ \t]+|(?P=i))return (?P<b>True|False)[ \t]*(?:\n|$)",
    re.MULTILINE,
)
_FORMAT_CALL = re.compile(r"""(?<![\w.])(["'])((?:[^"'{}\\\n]|\{\})*)\1\.format\(([^()\n]*)\)""")


def _sum_loop(code: str) -> str:
    def replace(m: re.Match[str]) -> str:
        total = f"sum({m['e']} for {m['x']} in {m['xs']})"
        returned = m.group(0).rstrip("\n").endswith(f"return {m['v']}")
        end = "\n" if m.group(0).endswith("\n") else ""
        if returned:
            return f"{m['i']}return {total}{end}"
        return f"{m['i']}{m['v']} = {total}\n"

    return _SUM_LOOP.sub(replace, code)


def _append_loop(code: str) -> str:
    def replace(m: re.Match[str]) -> str:
        condition = f" if {m['c']}" if m["c"] else ""
        listed = f"[{m['e']} for {m['x']} in {m['xs']}{condition}]"
        end = "\n" if m.group(0).endswith("\n") else ""
        if m.group(0).rstrip("\n").endswith(f"return {m['v']}"):
            return f"{m['i']}return {listed}{end}"
        return f"{m['i']}{m['v']} = {listed}\n"

    return _APPEND_LOOP.sub(replace, code)


def _search_loop(code: str) -> str:
    """A loop that returns the first match becomes `next(...)`, then the match's own work."""

    def replace(m: re.Match[str]) -> str:
        i, x = m["i"], m["x"]
        depth = len(m["b"]) + len(m["b2"])
        body = [line[len(i) + depth :] for line in m["body"].splitlines()]
        lines = [
            f"{i}{x} = next(({x} for {x} in {m['xs']} if {m['c']}), None)",
            f"{i}if {x} is None:",
            f"{i}{m['b']}{m['last']}",
            *[f"{i}{line}" if line.strip() else "" for line in body],
            f"{i}return {x}",
        ]
        return "\n".join(lines) + ("\n" if m.group(0).endswith("\n") else "")

    return _SEARCH_LOOP.sub(replace, code)


def _bool_return(code: str) -> str:
    def replace(m: re.Match[str]) -> str:
        if m["a"] == m["b"]:
            return m.group(0)
        boolean = re.search(r"==|!=|<|>|\b(?:in|is|not)\b|\b(?:isinstance|hasattr)\(", m["c"])
        if m["a"] == "True":
            condition = m["c"] if boolean else f"bool({m['c']})"
        else:
            condition = f"not ({m['c']})"
        end = "\n" if m.group(0).endswith("\n") else ""
        return f"{m['i']}return {condition}{end}"

    return _BOOL_RETURN.sub(replace, code)


def _python_idioms(code: str) -> str:
    code = re.sub(r"\s*(?<![=!<>])==\s*None\b", " is None", code)
    code = re.sub(r"\s*!=\s*None\b", " is not None", code)
    code = re.sub(r"\s*==\s*True\b(?=\s*:)", "", code)
    code = re.sub(rf"\bif len\(({IDENT}(?:\.{IDENT})*)\) == 0:", r"if not \1:", code)
    code = re.sub(rf"\bif len\(({IDENT}(?:\.{IDENT})*)\) (?:> 0|!= 0|>= 1):", r"if \1:", code)
    code = re.sub(rf"\bin ({IDENT}(?:\.{IDENT})*)\.keys\(\):", r"in \1:", code)

    def f_string(m: re.Match[str]) -> str:
        args = [a.strip() for a in m.group(3).split(",") if a.strip()]
        pieces = m.group(2).split("{}")
        simple = all(re.fullmatch(rf"{IDENT}(?:\.{IDENT})*", a) for a in args)
        if not simple or len(pieces) - 1 != len(args):
            return m.group(0)
        text = pieces[0] + "".join(f"{{{a}}}{p}" for a, p in zip(args, pieces[1:], strict=True))
        return f"f{m.group(1)}{text}{m.group(1)}"

    return _FORMAT_CALL.sub(f_string, code)


# -- JavaScript / TypeScript --------------------------------------------------------------------

_JS_SUM_LOOP = re.compile(
    r"^(?P<i>[ \t]*)(?:let|var) (?P<v>\w+) = 0;?\n"
    r"(?P=i)for \((?:const|let|var) (?P<x>\w+) of (?P<xs>[^\n]+)\) \{\n"
    r"(?P=i)[ \t]+(?P=v) \+= (?P<e>[^\n;]+);?\n"
    r"(?P=i)\}\n"
    r"(?P=i)return (?P=v);?[ \t]*(?:\n|$)",
    re.MULTILINE,
)
_JS_ANONYMOUS = re.compile(r"\bfunction\s*\(([^()]*)\)\s*\{\s*return\s+([^;{}\n]+?);?\s*\}")


def _js_idioms(code: str) -> str:
    def reduce(m: re.Match[str]) -> str:
        end = "\n" if m.group(0).endswith("\n") else ""
        return (
            f"{m['i']}return {m['xs']}.reduce(({m['v']}, {m['x']}) => {m['v']} + {m['e']}, 0);{end}"
        )

    code = _JS_SUM_LOOP.sub(reduce, code)
    code = _JS_ANONYMOUS.sub(
        lambda m: (
            m.group(0)  # an arrow function would change what `this` and `arguments` mean
            if re.search(r"\b(?:this|arguments)\b", m.group(2))
            else f"({m.group(1).strip()}) => {m.group(2).strip()}"
        ),
        code,
    )

    def declaration(m: re.Match[str]) -> str:
        name = m.group(2)
        rest = code[m.end() :]
        reassigned = re.search(rf"(?<![\w.]){re.escape(name)}\s*(?:[-+*/%]?=(?!=)|\+\+|--)", rest)
        return f"{m.group(1)}{'let' if reassigned else 'const'} {name}"

    code = re.sub(rf"(^|[\s;(])var ({IDENT})", declaration, code)
    # `== null` also matches undefined, on purpose: left alone.
    code = re.sub(r"(?<![=!<>])==(?!=)(?!\s*(?:null|undefined)\b)", "===", code)
    code = re.sub(r"!=(?!=)(?!\s*(?:null|undefined)\b)", "!==", code)
    code = re.sub(r"\.indexOf\(([^()]+)\)\s*(?:!==?\s*-1|>\s*-1|>=\s*0)", r".includes(\1)", code)
    return code


# -- every language -------------------------------------------------------------------------------


_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\"[^\"]*\"|'[^']*'")


def _same_meaning(op: str, value: str) -> bool:
    """Whether `x = x <op> value` means `x <op>= value`: `x = x - a + b` does not."""
    top = value
    for _ in range(3):
        top = _BRACKETED.sub("", top)
    if re.search(r"\b(?:if|else|and|or|not|lambda|is|in)\b|[<>=!&|?,:;^]", top):
        return False
    rest = top.lstrip()[1:]  # a leading sign belongs to the operand
    if op == "+":
        return True
    if op == "*":
        return not re.search(r"[-+]", rest)
    return not re.search(r"[-+*/%]", rest)


def _compound_assignment(code: str, *, increments: bool) -> str:
    def replace(m: re.Match[str]) -> str:
        target, op, value, end = m.group(2), m.group(3), m.group(4).strip(), m.group(5)
        if not _same_meaning(op, value):
            return m.group(0)
        if increments and value == "1" and op in "+-":
            return f"{m.group(1)}{target}{op * 2}{end}"
        return f"{m.group(1)}{target} {op}= {value}{end}"

    pattern = rf"^([ \t]*)({IDENT}(?:\.{IDENT})*) = \2 ([-+*/]) ([^\n;]+?)(;?)[ \t]*$"
    return re.sub(pattern, replace, code, flags=re.MULTILINE)


def tidy(code: str) -> str:
    code = re.sub(r"[ \t]+$", "", code, flags=re.MULTILINE)
    return re.sub(r"\n{4,}", "\n\n\n", code)


def _rust_idioms(code: str) -> str:
    code = re.sub(r"\.len\(\) == 0\b", ".is_empty()", code)
    # `return x;` as a function's last statement is just `x`.
    return re.sub(
        r"^([ \t]+)return ([^;\n]+);\n(\1?\}|[ \t]*\}[ \t]*$)", r"\1\2\n\3", code, flags=re.M
    )


def _java_idioms(code: str) -> str:
    code = re.sub(r"\.size\(\) == 0\b", ".isEmpty()", code)
    return re.sub(r"\.equals\(\"\"\)", ".isEmpty()", code)


def rewrite(code: str, language: str) -> str:
    """The target rewritten: clearer, more idiomatic, the same behaviour."""
    language = language.lower()
    family = FAMILY.get(language, language)
    text = code.replace("\r\n", "\n")
    if language in ("python", "py", "python3"):
        for rule in (_sum_loop, _append_loop, _search_loop, _bool_return, _python_idioms):
            text = rule(text)
        text = _compound_assignment(text, increments=False)
    elif family == "js":
        text = _compound_assignment(_js_idioms(text), increments=True)
    elif language in ("rust", "rs"):
        text = _compound_assignment(_rust_idioms(text), increments=False)
    elif language in ("java", "kotlin"):
        text = _compound_assignment(_java_idioms(text), increments=True)
    else:
        text = _compound_assignment(text, increments=language in ("go", "c", "cpp", "csharp"))
    text = tidy(text)
    return text.replace("\n", "\r\n") if "\r\n" in code else text
