"""The completion's default reply: a plausible continuation of the code at the cursor, from the
code around it (names the file already uses, the function being called, the block just opened).
Pure functions: the same prefix and suffix always give the same text."""

from __future__ import annotations

import re
from collections import Counter

_IDENT = re.compile(r"[A-Za-z_]\w*")
_PY_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(([^)]*)\)", re.MULTILINE)
_C_DEF = re.compile(
    r"\b(?:function\s+|func\s+(?:\([^)]*\)\s*)?|fn\s+|def\s+|[\w<>\[\]*&]+\s+)(\w+)\s*\(([^)]*)\)\s*"
    r"(?:[:\->][^{;\n]*)?\{"
)
_ASSIGNED = re.compile(
    r"^[ \t]*(?:(?:let|const|var|auto|val|mut)\s+)*(\w+)\s*(?::[^=\n]+)?:?=(?!=)", re.M
)
_KEYWORDS = frozenset(
    "and as def class if elif else for while in is not or return import from with try except "
    "finally raise pass break continue lambda yield async await function const let var new "
    "func fn pub struct impl use mut match true false True False None null nil self this".split()
)


_TYPE_WORDS = frozenset(
    "int int8 int16 int32 int64 uint uint8 uint16 uint32 uint64 float float32 float64 double "
    "char byte rune bool boolean string String error long short void size_t any object".split()
)


def _param_names(params: str) -> list[str]:
    names = []
    for raw in params.split(","):
        raw = raw.strip().split("=")[0].split(":")[0].strip()
        if not raw:
            continue
        tokens = _IDENT.findall(raw.lstrip("*&."))
        if not tokens:
            continue
        # `int count` (C, Java) names the parameter last, `count int` (Go) first.
        name = tokens[0] if len(tokens) == 1 or tokens[-1] in _TYPE_WORDS else tokens[-1]
        if name not in ("self", "cls", "this"):
            names.append(name)
    return names


def _definitions(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pattern in (_PY_DEF, _C_DEF):
        for match in pattern.finditer(text):
            found.setdefault(match.group(1), _param_names(match.group(2)))
    return found


def _complete_word(partial: str, prefix: str, suffix: str) -> str | None:
    """The rest of the most used name in the file that starts with `partial`."""
    counts = Counter(
        name
        for name in _IDENT.findall(prefix[: len(prefix) - len(partial)] + " " + suffix)
        if name.startswith(partial) and name != partial
    )
    if not counts:
        return None
    best = max(counts, key=lambda name: (counts[name], -len(name)))
    return best[len(partial) :]


def _call_arguments(name: str, definitions: dict[str, list[str]], suffix: str) -> str:
    params = definitions.get(name)
    arguments = ", ".join(params) if params is not None else ""
    return arguments if suffix.lstrip(" \t").startswith(")") else arguments + ")"


def _last_assigned(prefix: str) -> str | None:
    """The variable assigned last in the function around the cursor, if any."""
    body = re.split(r"^\s*(?:async\s+)?(?:def|function|func|fn)\b[^\n]*$", prefix, flags=re.M)[-1]
    names = _ASSIGNED.findall(body)
    return names[-1] if names else None


def _new_line(prefix: str, indent: str, language: str) -> str:
    """What a fresh line at `indent` most plausibly holds."""
    lines = [line for line in prefix.split("\n")[:-1] if line.strip()]
    previous = lines[-1].rstrip() if lines else ""
    braces = re.search(r"[{};][ \t]*$", prefix, re.MULTILINE) is not None
    python = language in ("python", "py") or (not language and not braces)
    end = "" if python or language in ("go", "rust") else ";"
    if python and previous.endswith(":"):
        return "pass"
    if previous.endswith("{"):
        return f"return{end}"
    if indent:  # inside a block: hand back what it computed
        variable = _last_assigned(prefix)
        if variable and not previous.lstrip().startswith("return"):
            return f"return {variable}{end}"
        return "pass" if python else "// TODO"
    definitions = _definitions(prefix)
    if definitions:  # at the top level: use what the file defines
        name = list(definitions)[-1]
        call = f"{name}({', '.join(definitions[name])})"
        return f"print({call})" if python else f"{call}{end}"
    return "pass" if python else "// TODO"


def continue_code(prefix: str, suffix: str, language: str = "") -> str:
    """The text to insert at the cursor between `prefix` and `suffix`."""
    language = language.lower()
    line = prefix.split("\n")[-1]
    definitions = _definitions(prefix + "\n" + suffix)
    if re.search(r"^\s*(?:async\s+)?def \w+\($", line):
        return "self" if line.startswith((" ", "\t")) else "*args, **kwargs"
    if (call := re.search(r"(\w+)\(\s*$", line)) is not None:
        return _call_arguments(call.group(1), definitions, suffix)
    if (partial := re.search(r"(?<![\w.])([A-Za-z_]\w*)$", line)) is not None:
        word = partial.group(1)
        if word not in _KEYWORDS:
            rest = _complete_word(word, prefix, suffix)
            if rest is not None:
                name = word + rest
                if name in definitions and not suffix.startswith("("):
                    return f"{rest}({', '.join(definitions[name])})"
                return rest
    if (member := re.search(r"(\w+)\.(\w*)$", line)) is not None:
        owner, started = member.groups()
        seen = Counter(
            m
            for m in re.findall(
                rf"\b{re.escape(owner)}\.(\w+)", prefix[: -len(member.group(0))] + suffix
            )
            if m.startswith(started) and m != started
        )
        if seen:
            best = max(seen, key=lambda name: (seen[name], -len(name)))
            return best[len(started) :]
    if re.search(r"\breturn\s*$", line):
        variable = _last_assigned(prefix)
        return variable or ("None" if language in ("python", "py") else "null")
    if re.search(r"\bfor\s*$", line) or re.search(r"\bfor\s+\w+\s*$", line):
        iterable = next(
            (n for n in reversed(_IDENT.findall(prefix)) if n.endswith("s") and n not in _KEYWORDS),
            "items",
        )
        loop = re.search(r"\bfor\s+(\w+)\s*$", line)
        head = "" if loop else "item "
        return (
            f"{head}in {iterable}:"
            if language in ("python", "py") or not language
            else f"{head}of {iterable}"
        )
    if not line.strip():
        return _new_line(prefix, line, language)
    if re.search(r"[=+\-*/,(\[]\s*$", line):
        on_line = set(_IDENT.findall(line))
        earlier = prefix[: len(prefix) - len(line)][-2000:]
        names = [n for n in _IDENT.findall(earlier) if n not in _KEYWORDS and n not in on_line]
        if names:
            return Counter(names).most_common(1)[0][0]
        return "None" if language in ("python", "py") else "null"
    if not suffix.split("\n", 1)[0].strip():  # a finished line: suggest the next one
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if line.rstrip().endswith((":", "{")):
            indent += "\t" if indent.startswith("\t") else "    "
        return "\n" + indent + _new_line(f"{prefix}\n{indent}", indent, language)
    return ""
