"""The simulator's default replies fit the task: a docstring built from the signature in each
language's convention, a plausible fix or rewrite, a continuation of the code at the cursor.
Same request, same reply."""

from __future__ import annotations

import ast

import pytest

from kestrel_lsp.features.prompts import TASKS, edit_prompt, fim_as_chat
from kestrel_lsp.simulator.continuation import continue_code
from kestrel_lsp.simulator.docstrings import add_documentation
from kestrel_lsp.simulator.fixes import fix
from kestrel_lsp.simulator.reply_text import default_chat_reply, default_fim_reply
from kestrel_lsp.simulator.rewrites import rewrite

RESTOCK = """\
def restock(items, name, amount):
    for item in items:
        if item.name == name:
            item.quantity += amount
            return item
    raise KeyError(name)"""


def chat_body(kind: str, target: str, language: str = "python", **extra: object) -> dict:
    prompt = edit_prompt(
        task=TASKS[kind],
        language=language,
        path="app",
        target=target,
        before="",
        after="",
        diagnostics=list(extra.get("diagnostics", [])),  # type: ignore[call-overload]
    )
    return {
        "messages": [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ]
    }


def fenced_code(reply: str) -> str:
    assert reply.startswith("```") and reply.endswith("\n```"), reply
    return reply.split("\n", 1)[1].rsplit("\n```", 1)[0]


def test_python_docstring_from_the_signature_and_body() -> None:
    documented = add_documentation(RESTOCK, "python")
    function = ast.parse(documented).body[0]
    assert isinstance(function, ast.FunctionDef)
    docstring = ast.get_docstring(function)
    assert docstring is not None
    for part in ("Args:", "items:", "name:", "amount:", "Returns:", "Raises:", "KeyError:"):
        assert part in docstring, (part, docstring)
    assert documented.replace(ast.get_docstring(function, clean=False) or "", "") != RESTOCK
    assert documented.endswith(RESTOCK.split("\n", 1)[1])  # the body is untouched


def test_python_one_line_docstring_types_defaults_and_a_method_keeps_its_indent() -> None:
    assert add_documentation("def main():\n    run()", "python") == (
        'def main():\n    """Run the program."""\n    run()'
    )
    method = "    def area(self, scale: float = 1.0) -> float:\n        return self.w * scale"
    documented = add_documentation(method, "python")
    assert documented.startswith(method.split("\n")[0] + '\n        """Return the area.')
    assert "scale (float): The scale. Defaults to 1.0." in documented
    assert "float: The area." in documented


def test_python_class_gets_its_attributes_and_an_existing_docstring_is_kept() -> None:
    documented = add_documentation("class Item:\n    name: str\n    price: float", "python")
    assert documented.startswith('class Item:\n    """An item.\n\n    Attributes:\n')
    assert "name (str): The name." in documented
    has_one = 'def f():\n    """Already documented."""\n    return 1'
    assert add_documentation(has_one, "python") == has_one


@pytest.mark.parametrize(
    ("language", "code", "expected_start", "expected_parts"),
    [
        (
            "typescript",
            "export async function fetchUser(id: string, retries = 3): Promise<User> {\n"
            "  return load(id);\n}",
            "/**\n * Fetches the user.\n",
            [" * @param id - ", " * @param [retries=3] - ", " * @returns The user."],
        ),
        (
            "javascript",
            "const totalValue = (items) => items.reduce((s, i) => s + i.price, 0);",
            "/**\n * Returns the total value.\n",
            [" * @param items - The items.", " * @returns The total value."],
        ),
        (
            "go",
            "func (s *Store) Restock(name string, amount int) (*Item, error) {\n"
            "\treturn nil, nil\n}",
            "// Restock restocks `name` and `amount`.\n",
            ["// It returns an error if the operation fails.\n"],
        ),
        (
            "rust",
            "pub fn parse_config(path: &Path) -> Result<Config, Error> {\n    todo!()\n}",
            "/// Parses the config.\n",
            ["/// * `path` - The path.", "/// # Errors"],
        ),
        (
            "java",
            "    public int countItems(List<Item> items) throws IOException {\n"
            "        return items.size();\n    }",
            "    /**\n     * Counts the items.\n",
            [
                "     * @param items the items",
                "     * @return the number of items",
                "@throws IOException",
            ],
        ),
        (
            "c",
            "static size_t count_words(const char *text, size_t len) {\n    return 0;\n}",
            "/**\n * @brief Counts the words.\n",
            [
                " * @param text The text.",
                " * @param len The length.",
                " * @return The number of words.",
            ],
        ),
        (
            "csharp",
            "public int Total(int a, int b) { return a + b; }",
            "/// <summary>\n/// Returns the total.\n/// </summary>\n",
            ['/// <param name="a">', "/// <returns>The total.</returns>"],
        ),
    ],
)
def test_doc_comments_per_language(
    language: str, code: str, expected_start: str, expected_parts: list[str]
) -> None:
    documented = add_documentation(code, language)
    assert documented.startswith(expected_start), documented
    for part in expected_parts:
        assert part in documented, (part, documented)
    assert documented.endswith(code.lstrip())  # the code itself is unchanged, under its comment


def test_python_rewrites_are_idiomatic_and_keep_behaviour() -> None:
    total = (
        "def total_value(items):\n    total = 0\n    for item in items:\n"
        "        total += item.price * item.quantity\n    return total"
    )
    assert rewrite(total, "python") == (
        "def total_value(items):\n    return sum(item.price * item.quantity for item in items)"
    )
    rewritten = rewrite(RESTOCK, "python")
    assert "next((item for item in items if item.name == name), None)" in rewritten
    namespace: dict[str, object] = {}
    exec(rewritten, namespace)  # the rewrite still restocks, and still raises for no match

    class Thing:
        def __init__(self, name: str) -> None:
            self.name, self.quantity = name, 1

    restock = namespace["restock"]
    assert restock([Thing("a"), Thing("b")], "b", 2).quantity == 3  # type: ignore[operator]
    with pytest.raises(KeyError):
        restock([Thing("a")], "z", 1)  # type: ignore[operator]


def test_javascript_rewrite() -> None:
    code = "var f = function (x) { return x * 2; };\nif (a == b && xs.indexOf(x) !== -1) {}"
    assert (
        rewrite(code, "javascript") == "const f = (x) => x * 2;\nif (a === b && xs.includes(x)) {}"
    )


@pytest.mark.parametrize(
    ("language", "code", "messages", "expected"),
    [
        (
            "python",
            "def add(a, b):\n    return a + c",
            ["undefined name 'c'"],
            "def add(a, b):\n    return a + b",
        ),
        (
            "python",
            "import os, sys\nprint(sys.argv)",
            ["'os' imported but unused"],
            "import sys\nprint(sys.argv)",
        ),
        ("python", "def f(x)\n    return x", ["Expected ':'"], "def f(x):\n    return x"),
        (
            "typescript",
            "let n = user.name;",
            ["'user' is possibly 'undefined'."],
            "let n = user?.name;",
        ),
        ("rust", "let x = 5;\nlet y = 1;", ["unused variable: `x`"], "let _x = 5;\nlet y = 1;"),
        ("go", "count := 0\nreturn cuont", ["undefined: cuont"], "count := 0\nreturn count"),
    ],
)
def test_fixes_follow_the_diagnostics(
    language: str, code: str, messages: list[str], expected: str
) -> None:
    assert fix(code, language, messages) == expected


def test_completions_continue_the_code_at_the_cursor() -> None:
    text = "def total_value(items):\n    return 0\n\n\n"
    assert continue_code(text + "print(total_v", ")") == "alue(items)"
    assert continue_code(text + "print(total_value(", ")\n") == "items"
    assert continue_code("def f(items):\n    for item in items:\n        ", "") == "pass"
    body = "def f(items):\n    total = 0\n    for item in items:\n        total += item.price\n    "
    assert continue_code(body, "") == "return total"
    assert continue_code("user.name = 1\nprint(user.", "", "javascript") == "name"
    # At the end of a finished line: the next line, indented for the block just opened.
    assert continue_code("def f(x):\n    y = x * 2", "\n") == "\n    return y"
    assert continue_code("def add(a, b):", "\n    return a + b\n") == "\n    pass"
    assert continue_code(text, "") == "print(total_value(items))"


def test_the_request_picks_the_task_and_the_reply_is_deterministic() -> None:
    target = "def add(a, b):\n    return a + c\n"
    documented = fenced_code(
        default_chat_reply(chat_body("refactor.rewrite.kestrel.docstring", target))
    )
    assert '"""Add `a` and `b`.' in documented
    fixed = chat_body("quickfix.kestrel", target, diagnostics=["undefined name 'c'"])
    assert fenced_code(default_chat_reply(fixed)) == "def add(a, b):\n    return a + b"
    rewrite_body = chat_body("refactor.rewrite.kestrel.selection", "var x = 1;", "javascript")
    assert fenced_code(default_chat_reply(rewrite_body)) == "const x = 1;"
    assert default_chat_reply(fixed) == default_chat_reply(fixed)

    chat = fim_as_chat("def add(a, b):\n    return a + b\n\nprint(ad", ")\n", "python")
    messages = [{"role": "system", "content": chat.system}, {"role": "user", "content": chat.user}]
    assert default_chat_reply({"messages": messages}) == "d(a, b)"
    assert (
        default_fim_reply({"prompt": "def add(a, b):\n    pass\n\nadd(", "suffix": ")"}) == "a, b"
    )


def test_crlf_code_comes_back_with_crlf() -> None:
    documented = add_documentation("def add(a, b):\r\n    return a + b\r\n", "python")
    assert '"""' in documented and "\n" not in documented.replace("\r\n", "")


@pytest.mark.parametrize(
    ("language", "code", "expected"),
    [
        ("python", "x = x + y - z", "x += y - z"),
        ("python", "x = x - y + z", "x = x - y + z"),  # x -= y + z would mean something else
        ("python", "x = x * y + z", "x = x * y + z"),
        ('python', 's = s + "a" if c else "b"', 's = s + "a" if c else "b"'),
        ("python", "def f(x):\n    if x:\n        return True\n    return False",
         "def f(x):\n    return bool(x)"),
        ("javascript", "n = n + 1;", "n++;"),
        ("javascript", "var g = function (a) { return this.a; };",
         "const g = function (a) { return this.a; };"),  # an arrow would rebind `this`
        ("javascript", "if (x == null) {}", "if (x == null) {}"),
    ],
)  # fmt: skip
def test_rewrites_keep_the_meaning(language: str, code: str, expected: str) -> None:
    assert rewrite(code, language) == expected
