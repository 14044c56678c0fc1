"""The docstring action's default reply: the target with a docstring or doc comment for its
signature, in the language's own convention (PEP 257 / Google style, JSDoc, Go doc comments,
rustdoc, Javadoc, Doxygen, XML doc comments). A definition that already has a Python docstring
comes back unchanged, as a model would return it. Python's docstrings: `python_docs`."""

from __future__ import annotations

import re
from collections.abc import Callable

from kestrel_lsp.simulator import wording
from kestrel_lsp.simulator.python_docs import indent_of, python_docstring, returns_text
from kestrel_lsp.simulator.signature_parts import Definition
from kestrel_lsp.simulator.signatures import find_definition

FAMILY = {
    "javascript": "js",
    "javascriptreact": "js",
    "typescript": "js",
    "typescriptreact": "js",
    "js": "js",
    "jsx": "js",
    "ts": "js",
    "tsx": "js",
    "go": "go",
    "rust": "rust",
    "rs": "rust",
    "java": "c_like",
    "kotlin": "c_like",
    "csharp": "c_like",
    "c": "c_like",
    "cpp": "c_like",
    "c++": "c_like",
    "objective-c": "c_like",
    "cuda": "c_like",
    "php": "c_like",
    "swift": "c_like",
    "scala": "c_like",
    "dart": "c_like",
}
LINE_COMMENT = {
    "python": "#",
    "ruby": "#",
    "shellscript": "#",
    "sh": "#",
    "bash": "#",
    "perl": "#",
    "r": "#",
    "elixir": "#",
    "yaml": "#",
    "toml": "#",
    "makefile": "#",
    "dockerfile": "#",
    "powershell": "#",
    "lua": "--",
    "sql": "--",
    "haskell": "--",
    "elm": "--",
    "clojure": ";;",
    "lisp": ";;",
    "scheme": ";;",
    "elisp": ";;",
    "erlang": "%",
    "latex": "%",
    "vim": '"',
}


# -- doc comments above the definition ----------------------------------------------------------


def _param_names(definition: Definition) -> list[str]:
    return [p.name.lstrip("*&.") for p in definition.params]


def _summary(definition: Definition, *, third: bool = True) -> str:
    if definition.kind == "type":
        return f"Represents {wording.article(wording.phrase(definition.name))}."
    if definition.name == "constructor":
        return "Creates a new instance."
    return wording.summary(definition.name, _param_names(definition), third=third)


def _return_text(definition: Definition, summary: str) -> str:
    text = returns_text(summary, definition.name, set())
    return "true if so, false otherwise." if text.startswith("True if so") else text


def _jsdoc(definition: Definition, language: str) -> list[str]:
    summary = _summary(definition)
    lines = [summary]
    if definition.kind == "type":
        return _block(lines)
    typed = language.startswith("typescript") or language in ("ts", "tsx")
    tags = []
    for p in definition.params:
        name = p.name
        if p.default is not None:
            name = f"[{name}={p.default}]" if p.default else f"[{name}]"
        kind = f"{{{p.type}}} " if p.type and not typed else ""
        tags.append(f"@param {kind}{name} - {wording.describe_param(p.name)}")
    if definition.returns_value:
        kind = f"{{{definition.returns}}} " if definition.returns and not typed else ""
        tags.append(f"@returns {kind}{_return_text(definition, summary)}")
    tags += [f"@throws {{{t}}} If the operation fails." for t in definition.throws]
    return _block(lines + (["", *tags] if tags else []))


def _block(lines: list[str], lead: str = " * ") -> list[str]:
    if len(lines) == 1:
        return [f"/** {lines[0]} */"]
    return ["/**", *[(lead + line).rstrip() for line in lines], " */"]


def _go_doc(definition: Definition) -> list[str]:
    if definition.kind == "type":
        return [
            f"// {definition.name} represents {wording.article(wording.phrase(definition.name))}."
        ]
    summary = _summary(definition)
    lines = [f"// {definition.name} {summary[:1].lower()}{summary[1:]}"]
    if definition.fallible:
        lines.append("// It returns an error if the operation fails.")
    return lines


def _rust_doc(definition: Definition) -> list[str]:
    summary = _summary(definition)
    lines = [summary]
    if definition.kind == "function" and definition.params:
        lines += ["", "# Arguments", ""]
        lines += [f"* `{p.name}` - {wording.describe_param(p.name)}" for p in definition.params]
    if definition.fallible:
        lines += ["", "# Errors", "", "Returns an error if the operation fails."]
    return [f"/// {line}".rstrip() for line in lines]


def _javadoc(definition: Definition) -> list[str]:
    summary = _summary(definition)
    if definition.kind == "type":
        return _block([summary])
    tags = [f"@param {p.name} {_lower(wording.describe_param(p.name))}" for p in definition.params]
    if definition.returns_value:
        tags.append(f"@return {_lower(_return_text(definition, summary))}")
    tags += [f"@throws {t} if the operation fails" for t in definition.throws]
    return _block([summary, *(["", *tags] if tags else [])])


def _lower(sentence: str) -> str:
    return (sentence[:1].lower() + sentence[1:]).rstrip(".")


def _doxygen(definition: Definition) -> list[str]:
    summary = _summary(definition)
    if definition.kind == "type":
        return _block([f"@brief {summary}"])
    tags = [f"@param {p.name} {wording.describe_param(p.name)}" for p in definition.params]
    if definition.returns_value:
        tags.append(f"@return {_return_text(definition, summary)}")
    return _block([f"@brief {summary}", *(["", *tags] if tags else [])])


def _xml_doc(definition: Definition) -> list[str]:
    summary = _summary(definition)
    lines = ["/// <summary>", f"/// {summary}", "/// </summary>"]
    if definition.kind == "function":
        lines += [
            f'/// <param name="{p.name}">{wording.describe_param(p.name)}</param>'
            for p in definition.params
        ]
        if definition.returns_value:
            lines.append(f"/// <returns>{_return_text(definition, summary)}</returns>")
        lines += [
            f'/// <exception cref="{t}">If the operation fails.</exception>'
            for t in definition.throws
        ]
    return lines


def _phpdoc(definition: Definition) -> list[str]:
    summary = _summary(definition)
    tags = [
        f"@param ${p.name.lstrip('$')} {wording.describe_param(p.name)}" for p in definition.params
    ]
    if definition.returns_value:
        tags.append(f"@return {_return_text(definition, summary)}")
    return _block([summary, *(["", *tags] if tags else [])])


def _swift_doc(definition: Definition) -> list[str]:
    summary = _summary(definition)
    lines = [f"/// {summary}"]
    if definition.kind == "function":
        lines += [
            f"/// - Parameter {p.name}: {wording.describe_param(p.name)}" for p in definition.params
        ]
        if definition.returns_value:
            lines.append(f"/// - Returns: {_return_text(definition, summary)}")
    return lines


_RENDER: dict[str, Callable[[Definition], list[str]]] = {
    "go": _go_doc,
    "rust": _rust_doc,
    "rs": _rust_doc,
    "java": _javadoc,
    "kotlin": _javadoc,
    "scala": _javadoc,
    "dart": _javadoc,
    "csharp": _xml_doc,
    "php": _phpdoc,
    "swift": _swift_doc,
}


def _render(definition: Definition, language: str) -> list[str]:
    if FAMILY.get(language) == "js":
        return _jsdoc(definition, language)
    render = _RENDER.get(language, _doxygen)
    return render(definition)


def _comment_above(code: str, line: int, comment: list[str]) -> str:
    lines = code.split("\n")
    indent = indent_of(lines[line])
    lines[line:line] = [indent + text for text in comment]
    return "\n".join(lines)


def _fallback_comment(code: str, language: str) -> str:
    """No definition found: a one-line comment saying what the code's first statement does."""
    lines = code.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    statement = lines[first].strip() if lines else ""
    marker = LINE_COMMENT.get(language, "//")
    assigned = re.match(
        r"^(?:(?:const|let|var|val|auto|final)\s+)?([A-Za-z_]\w*)\s*(?::[^=]+)?=[^=]", statement
    )
    if assigned:
        text = f"The {wording.phrase(assigned.group(1))}."
    else:
        called = re.match(r"^(?:await\s+|return\s+)?([A-Za-z_][\w.]*)\s*\(", statement)
        text = (
            f"{wording.capitalize(wording.phrase(called.group(1).split('.')[-1]))}."
            if called
            else "What follows."
        )
    return _comment_above(code, first, [f"{marker} {text}"])


_LINE_DEFINITION = re.compile(
    r"^\s*(?:local\s+|export\s+)?(?:def|function|fn|func|sub|proc|defn|defun|defp)\s+"
    r"(?:self\.)?([\w.:!?]+)\s*\(?([^)]*)\)?"
)


def _line_comment_doc(code: str, language: str) -> str | None:
    """Languages documented with line comments (Ruby, Lua, shell, Lisp…): a summary above."""
    lines = code.split("\n")
    for index, line in enumerate(lines[:40]):
        match = _LINE_DEFINITION.match(line)
        if match:
            name = re.split(r"[.:]", match.group(1))[-1]
            params = [p.strip().lstrip("*&") for p in match.group(2).split(",") if p.strip()]
            marker = LINE_COMMENT[language]
            marker = "---" if marker == "--" and language == "lua" else marker
            summary = wording.summary(name, params, third=True)
            return _comment_above(code, index, [f"{marker} {summary}"])
    return None


def add_documentation(code: str, language: str) -> str:
    """The target with documentation added for its first definition."""
    language = language.lower()
    crlf = "\r\n" in code
    text = code.replace("\r\n", "\n")
    result: str | None = None
    if language in ("python", "py", "python3") or (not language and "def " in text):
        result = python_docstring(text)
    elif language in LINE_COMMENT:
        result = _line_comment_doc(text, language)
    else:
        definition = find_definition(text, FAMILY.get(language, "c_like"))
        if definition is not None:
            result = _comment_above(text, definition.line, _render(definition, language))
    if result is None:
        result = _fallback_comment(text, language)
    return result.replace("\n", "\r\n") if crlf else result
