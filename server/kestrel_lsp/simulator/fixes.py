"""The fix action's default reply: the target with its diagnostics fixed, as far as their
messages say how (an unused import or variable dropped, an undefined name replaced by the
nearest defined one, a missing colon, semicolon or parenthesis added). Text rules, not a parser;
code they do not recognise is left alone (and tidied as a rewrite would)."""

from __future__ import annotations

import re

from kestrel_lsp.simulator.rewrites import IDENT, rewrite, tidy

_KEYWORDS = frozenset(
    "and as assert async await break case catch class const continue def default del do elif "
    "else except false False finally fn for from func function if import in is lambda let "
    "match mut new nil None nonlocal not null or pass raise return self static struct switch "
    "this throw true True try type var void while with yield print len range".split()
)

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
    identifiers = re.findall(IDENT, code)
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
    text = tidy(text)
    if text == code.replace("\r\n", "\n"):
        text = rewrite(text, language)  # nothing the messages explain: tidy what can be tidied
    return text.replace("\n", "\r\n") if "\r\n" in code else text
