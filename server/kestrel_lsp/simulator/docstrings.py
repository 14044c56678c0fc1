"""The docstring action's default reply: the target with a docstring or doc comment for its
signature, in the language's own convention (PEP 257 / Google style, JSDoc, Go doc comments,
rustdoc, Javadoc, Doxygen, XML doc comments). A definition that already has a Python docstring
comes back unchanged, as a model would return it."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable, Iterator

from kestrel_lsp.simulator import wording
from kestrel_lsp.simulator.signatures import Definition, Param, find_definition

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


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


# -- Python -------------------------------------------------------------------------------------


def _walk_own(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions, classes or lambdas."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        yield child
        yield from _walk_own(child)


def _python_params(args: ast.arguments) -> list[Param]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    params = [
        Param(
            a.arg,
            ast.unparse(a.annotation) if a.annotation else None,
            ast.unparse(d) if d is not None else None,
        )
        for a, d in zip(positional, defaults, strict=True)
    ]
    if args.vararg:
        params.append(Param("*" + args.vararg.arg))
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        annotation = ast.unparse(a.annotation) if a.annotation else None
        params.append(Param(a.arg, annotation, ast.unparse(d) if d is not None else None))
    if args.kwarg:
        params.append(Param("**" + args.kwarg.arg))
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    return params


def _raised(node: ast.AST) -> list[tuple[str, str | None]]:
    found: dict[str, str | None] = {}
    for child in _walk_own(node):
        if isinstance(child, ast.Raise) and child.exc is not None:
            exc = child.exc
            argument = None
            if isinstance(exc, ast.Call):
                if exc.args and isinstance(exc.args[0], ast.Name):
                    argument = exc.args[0].id
                exc = exc.func
            name = ast.unparse(exc)
            if re.fullmatch(r"[\w.]+", name):
                found.setdefault(name, argument)
    return list(found.items())


def _raise_reason(exc: str, argument: str | None, params: list[Param]) -> str:
    plural = next((p.name for p in params if p.name.endswith("s") and p.name != argument), None)
    if exc.split(".")[-1] in ("KeyError", "LookupError", "IndexError", "StopIteration"):
        if argument and plural:
            return f"If no {wording.singular(wording.phrase(plural))} matches `{argument}`."
        if argument:
            return f"If `{argument}` is not found."
        return "If the item is not found."
    if exc.split(".")[-1] in ("ValueError", "TypeError") and argument:
        return f"If `{argument}` is not valid."
    return "If the operation fails."


_GETTERS = re.compile(
    r"^(?:Return|Get|Fetch|Find|Load|Read|Compute|Calculate|Build|Make|Create|Parse|Generate|"
    r"Lookup|Query|Select|Convert|Format|Render|Extract|Collect|Merge)(?:e?s)? "
)
_OPERATIONS = {ast.Add: "sum", ast.Sub: "difference", ast.Mult: "product", ast.Div: "quotient"}


def _returns_text(summary: str, name: str, returned: set[str], expression: str = "") -> str:
    if re.match(r"^Returns? whether ", summary):
        return "True if so, False otherwise."
    if name == "main":
        return "The exit status."
    if expression:
        return expression
    if re.match(r"^Counts? the ", summary):
        return "The number of " + re.sub(r"^Counts? the ", "", summary)
    if _GETTERS.match(summary) and re.search(r" (?:the|a|an) ", summary):
        return "The " + re.split(r" (?:the|a|an) ", summary, maxsplit=1)[1]
    if len(returned) == 1:
        return f"The {wording.phrase(next(iter(returned)))}."
    noun = wording.noun_of(name)
    return f"The {noun}." if noun else "The result."


def _accumulated(node: ast.AST, variable: str) -> str:
    """ "The sum of `e` over `xs`." when `variable += e` runs in `for x in xs` and is returned."""
    for loop in _walk_own(node):
        if not isinstance(loop, ast.For):
            continue
        for statement in loop.body:
            if (
                isinstance(statement, ast.AugAssign)
                and isinstance(statement.op, ast.Add)
                and isinstance(statement.target, ast.Name)
                and statement.target.id == variable
            ):
                total, over = ast.unparse(statement.value), ast.unparse(loop.iter)
                return f"The sum of `{total}` over `{over}`."
    return ""


def _described_expression(node: ast.AST, returns: list[ast.Return]) -> str:
    """ "The sum of `a` and `b`." for `return a + b`; empty for anything less plain."""
    values = {ast.unparse(r.value) for r in returns if r.value is not None}
    if len(returns) != 1 or len(values) != 1:
        return ""
    value = returns[0].value
    if isinstance(value, ast.Name):
        return _accumulated(node, value.id)
    if (
        isinstance(value, ast.BinOp)
        and type(value.op) in _OPERATIONS
        and isinstance(value.left, ast.Name)
        and isinstance(value.right, ast.Name)
    ):
        operation = _OPERATIONS[type(value.op)]
        return f"The {operation} of `{value.left.id}` and `{value.right.id}`."
    return ""


def _python_function_doc(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    params = _python_params(node.args)
    name = node.name
    if name == "__init__":
        summary = "Initialize the instance."
    elif name in ("__str__", "__repr__"):
        summary = (
            "Return a readable representation."
            if name == "__str__"
            else ("Return a representation for debugging.")
        )
    elif name.startswith("__") and name.endswith("__"):
        summary = f"Implement `{name}`."
    else:
        summary = wording.summary(name, [p.name for p in params])
    own = list(_walk_own(node))
    returns = [n for n in own if isinstance(n, ast.Return) and n.value is not None]
    yields = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own)
    returned = {n.value.id for n in returns if isinstance(n.value, ast.Name)}
    expression = _described_expression(node, returns)
    annotation = ast.unparse(node.returns) if node.returns else None
    sections: list[list[str]] = []
    if params:
        lines = ["Args:"]
        for p in params:
            label = f"{p.name} ({p.type})" if p.type else p.name
            text = wording.describe_param(p.name)
            if p.default is not None:
                text += f" Defaults to {p.default}."
            lines.append(f"    {label}: {text}")
        sections.append(lines)
    if yields:
        sections.append(["Yields:", f"    {_returns_text(summary, name, returned, expression)}"])
    elif (returns or annotation not in (None, "None")) and name != "__init__":
        text = _returns_text(summary, name, returned, expression)
        label = f"{annotation}: " if annotation and annotation != "None" else ""
        sections.append(["Returns:", f"    {label}{text}"])
    raised = _raised(node)
    if raised:
        sections.append(
            ["Raises:"] + [f"    {e}: {_raise_reason(e, a, params)}" for e, a in raised]
        )
    return _python_docstring_lines(summary, sections)


def _python_class_doc(node: ast.ClassDef) -> list[str]:
    noun = wording.phrase(node.name)
    summary = wording.capitalize(wording.article(noun)) + "."
    fields: list[Param] = []
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            fields.append(Param(item.target.id, ast.unparse(item.annotation)))
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            for child in ast.walk(item):
                if isinstance(child, ast.Assign | ast.AnnAssign):
                    targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                    for target in targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == "self"
                            and not target.attr.startswith("_")
                            and target.attr not in {f.name for f in fields}
                        ):
                            fields.append(Param(target.attr))
    sections = []
    if fields:
        lines = ["Attributes:"]
        for f in fields:
            label = f"{f.name} ({f.type})" if f.type else f.name
            lines.append(f"    {label}: {wording.describe_param(f.name)}")
        sections.append(lines)
    return _python_docstring_lines(summary, sections)


def _python_docstring_lines(summary: str, sections: list[list[str]]) -> list[str]:
    if not sections:
        return [f'"""{summary}"""']
    lines = [f'"""{summary}']
    for section in sections:
        lines += ["", *section]
    return [*lines, '"""']


def python_docstring(code: str) -> str | None:
    """`code` with a docstring in its first function or class, or None when it has neither."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    node = next(
        (
            n
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ),
        None,
    )
    if node is None:
        return None
    if ast.get_docstring(node, clean=False) is not None:
        return code
    doc = _python_class_doc(node) if isinstance(node, ast.ClassDef) else _python_function_doc(node)
    lines = code.split("\n")
    dedented = textwrap.dedent(code).split("\n")
    first: ast.stmt | ast.expr = node.body[0]
    decorators = getattr(first, "decorator_list", [])
    first = min([first, *decorators], key=lambda n: (n.lineno, n.col_offset))
    row = first.lineno - 1
    shift = len(lines[row]) - len(dedented[row])
    column = shift + len(dedented[row].encode()[: first.col_offset].decode(errors="ignore"))
    if lines[row][:column].strip():
        # `def f(): return 1`: the body moves to its own line, under the docstring.
        body_indent = _indent(lines[node.lineno - 1]) + "    "
        lines[row : row + 1] = [lines[row][:column].rstrip(), body_indent + lines[row][column:]]
        row += 1
    indent = _indent(lines[row])
    lines[row:row] = [indent + line if line else "" for line in doc]
    return "\n".join(lines)


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
    text = _returns_text(summary, definition.name, set())
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
    indent = _indent(lines[line])
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
