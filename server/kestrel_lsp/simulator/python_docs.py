"""The docstring action's default reply for Python: a PEP 257 docstring (Google style) for the
first function or class, read from its syntax tree: parameters, what it returns, raises or
accumulates."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator

from kestrel_lsp.simulator import wording
from kestrel_lsp.simulator.signature_parts import Param


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


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


def returns_text(summary: str, name: str, returned: set[str], expression: str = "") -> str:
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
        sections.append(["Yields:", f"    {returns_text(summary, name, returned, expression)}"])
    elif (returns or annotation not in (None, "None")) and name != "__init__":
        text = returns_text(summary, name, returned, expression)
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
        body_indent = indent_of(lines[node.lineno - 1]) + "    "
        lines[row : row + 1] = [lines[row][:column].rstrip(), body_indent + lines[row][column:]]
        row += 1
    indent = indent_of(lines[row])
    lines[row:row] = [indent + line if line else "" for line in doc]
    return "\n".join(lines)
