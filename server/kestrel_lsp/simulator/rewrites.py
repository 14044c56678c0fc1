"""The fix and rewrite actions' default replies: the target changed the way a careful reviewer
would change it. Text rules, not a parser; each is small, checks its pattern strictly and leaves
code it does not recognise alone. Pure functions: the same code gives the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kestrel_lsp.simulator.docstrings import FAMILY

Rule = Callable[[str], str]

_IDENT = r"[A-Za-z_]\w*"
_KEYWORDS = frozenset(
    "and as assert async await break case catch class const continue def default del do elif "
    "else except false False finally fn for from func function if import in is lambda let "
    "match mut new nil None nonlocal not null or pass raise return self static struct switch "
    "this throw true True try type var void while with yield print len range".split()
)


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
    code = re.sub(rf"\bif len\(({_IDENT}(?:\.{_IDENT})*)\) == 0:", r"if not \1:", code)
    code = re.sub(rf"\bif len\(({_IDENT}(?:\.{_IDENT})*)\) (?:> 0|!= 0|>= 1):", r"if \1:", code)
    code = re.sub(rf"\bin ({_IDENT}(?:\.{_IDENT})*)\.keys\(\):", r"in \1:", code)

    def f_string(m: re.Match[str]) -> str:
        args = [a.strip() for a in m.group(3).split(",") if a.strip()]
        pieces = m.group(2).split("{}")
        simple = all(re.fullmatch(rf"{_IDENT}(?:\.{_IDENT})*", a) for a in args)
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

    code = re.sub(rf"(^|[\s;(])var ({_IDENT})", declaration, code)
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

    pattern = rf"^([ \t]*)({_IDENT}(?:\.{_IDENT})*) = \2 ([-+*/]) ([^\n;]+?)(;?)[ \t]*$"
    return re.sub(pattern, replace, code, flags=re.MULTILINE)


def _tidy(code: str) -> str:
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
    text = _tidy(text)
    return text.replace("\n", "\r\n") if "\r\n" in code else text


# -- fixes for the diagnostics --------------------------------------------------------------

_UNUSED_IMPORT = [
    r"[`'\"]([\w.]+)[`'\"] imported but unused",
    r"[`'\"]([\w.]+)[`'\"] imported and not used",
    r"unused import:? [`'\"]?([\w.:]+)",
    r"[Tt]he import ([\w.]+) is never used",
    r"[`'\"](\w+)[`'\"] is declared but its value is never read",
    r"[Ii]mport [`'\"](\w+)[`'\"] is not accessed",
]
_UNDEFINED = [
    r"[Uu]ndefined name [`'\"](\w+)[`'\"]",
    r"[`'\"](\w+)[`'\"] is not defined",
    r"[Cc]annot find name [`'\"](\w+)[`'\"]",
    r"undefined: (\w+)",
    r"cannot find (?:value|function) [`'\"](\w+)[`'\"]",
    r"(\w+) cannot be resolved",
    r"undeclared identifier [`'\"](\w+)[`'\"]",
    r"[`'\"](\w+)[`'\"] undeclared",
]
_UNUSED_VARIABLE = [
    r"[Ll]ocal variable [`'\"](\w+)[`'\"] is assigned to but never used",
    r"[`'\"](\w+)[`'\"] is assigned a value but never used",
    r"declared and not used: (\w+)",
    r"(\w+) declared and not used",
    r"unused variable: [`'\"](\w+)[`'\"]",
]
_POSSIBLY_EMPTY = r"[`'\"](\w+)[`'\"] is possibly [`'\"](?:null|undefined)[`'\"]"
_KNOWN_MODULES = frozenset(
    "os sys re json math time random datetime pathlib collections itertools functools typing "
    "subprocess logging shutil tempfile dataclasses enum asyncio statistics decimal".split()
)


def _first_match(patterns: list[str], message: str) -> str | None:
    for pattern in patterns:
        if (m := re.search(pattern, message)) is not None:
            return m.group(1)
    return None


def _drop_import(code: str, name: str) -> str:
    short = name.split(".")[-1].split("::")[-1]
    lines = code.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not re.match(r"^(import|from|use|#include)\b|^\"[\w/.]+\"$|^\w+ \"[\w/.]+\"$", stripped):
            continue
        if not re.search(rf"(?<![\w]){re.escape(short)}(?![\w])", stripped):
            continue
        names = re.match(r"^(from\s+\S+\s+import\s+|import\s+)(.+)$", stripped)
        if names and "," in names.group(2):
            kept = [n for n in names.group(2).split(",") if n.strip().split(" as ")[-1] != short]
            lines[index] = (
                line[: len(line) - len(stripped)] + names.group(1) + ",".join(kept).strip()
            )
        else:
            del lines[index]
        return "\n".join(lines)
    return code


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _replace_undefined(code: str, name: str, language: str) -> str:
    if language in ("python", "py") and name in _KNOWN_MODULES:
        lines = code.split("\n")
        first = next((i for i, line in enumerate(lines) if line.strip()), 0)
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        return "\n".join([*lines[:first], f"{indent}import {name}", *lines[first:]])
    identifiers = re.findall(_IDENT, code)
    counts = {i: identifiers.count(i) for i in identifiers}
    candidates = [
        i
        for i in counts
        if i != name and i not in _KEYWORDS and _distance(i, name) <= max(2, len(name) // 3)
    ]
    if not candidates:
        return code
    # Prefer a name the code declares but never reads (a parameter the typo should have used).
    best = min(candidates, key=lambda i: (counts[i] > 1, _distance(i, name), -len(i), i))
    return re.sub(rf"(?<![\w.]){re.escape(name)}(?!\w)", best, code)


def _drop_unused_variable(code: str, name: str, language: str) -> str:
    if language in ("rust", "rs"):
        return re.sub(rf"\blet (mut )?{re.escape(name)}\b", rf"let \1_{name}", code, count=1)
    pattern = rf"^([ \t]*)(?:(?:const|let|var)\s+)?{re.escape(name)}\s*(?::=|=(?!=))\s*([^\n]*)\n?"
    match = re.search(pattern, code, flags=re.MULTILINE)
    if match is None:
        return code
    value = match.group(2).rstrip(";").strip()
    if "(" in value:  # keep the call's side effects
        keep = (
            f"_ = {value}"
            if language == "go"
            else value + (";" if match.group(2).rstrip().endswith(";") else "")
        )
        return code[: match.start()] + f"{match.group(1)}{keep}\n" + code[match.end() :]
    return code[: match.start()] + code[match.end() :]


def _add_colon(code: str) -> str:
    pattern = (
        r"^([ \t]*(?:def|class|if|elif|else|for|while|try|except|finally|with)\b"
        r"[^\n:]*[^\n:\s])[ \t]*$"
    )
    return re.sub(pattern, r"\1:", code, count=1, flags=re.MULTILINE)


def _add_semicolon(code: str) -> str:
    lines = code.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if (
            stripped
            and not stripped.endswith((";", "{", "}", ",", "(", "[", ":", "=>", "*/"))
            and not stripped.startswith(("//", "/*", "*", "#", "if", "for", "while", "else", "}"))
            and not re.match(r"^(function|class|export|import|switch|try|catch|do)\b", stripped)
        ):
            lines[index] = line.rstrip() + ";"
            return "\n".join(lines)
    return code


def _close_paren(code: str) -> str:
    lines = code.split("\n")
    for index, line in enumerate(lines):
        missing = line.count("(") - line.count(")")
        if missing > 0:
            colon = ":" if line.rstrip().endswith(":") else ""
            base = line.rstrip()[: len(line.rstrip()) - len(colon)]
            lines[index] = base + ")" * missing + colon
            return "\n".join(lines)
    return code


def fix(code: str, language: str, diagnostics: list[str]) -> str:
    """The target with its diagnostics fixed, as far as the messages say how."""
    language = language.lower()
    text = code.replace("\r\n", "\n")
    for message in diagnostics:
        if (name := _first_match(_UNUSED_IMPORT, message)) is not None:
            text = _drop_import(text, name)
        elif (name := _first_match(_UNDEFINED, message)) is not None:
            text = _replace_undefined(text, name, language)
        elif (name := _first_match(_UNUSED_VARIABLE, message)) is not None:
            text = _drop_unused_variable(text, name, language)
        elif (m := re.search(_POSSIBLY_EMPTY, message)) is not None:
            text = re.sub(rf"(?<![\w.]){m.group(1)}\.(?!\.)", f"{m.group(1)}?.", text)
        elif re.search(r"[Ee]xpected ['\"`]?:", message):
            text = _add_colon(text)
        elif re.search(
            r"[Ee]xpected ['\"`]?;|['\"`];['\"`] expected|[Mm]issing semicolon", message
        ):
            text = _add_semicolon(text)
        elif re.search(r"never closed|[Ee]xpected ['\"`]?\)|['\"`]\)['\"`] expected", message):
            text = _close_paren(text)
        elif re.search(r"f-string without any placeholders", message):
            text = re.sub(r"\bf([\"'])([^{}\"'\n]*)\1", r"\1\2\1", text, count=1)
    text = _tidy(text)
    if text == code.replace("\r\n", "\n"):
        text = rewrite(text, language)  # nothing the messages explain: tidy what can be tidied
    return text.replace("\n", "\r\n") if "\r\n" in code else text
