"""Prompts: what the model is asked, built from the document around the target."""

from __future__ import annotations

from dataclasses import dataclass

from kestrel_lsp.provider.wire import ChatPrompt, FimPrompt

SYSTEM_EDIT = (
    "You are Kestrel, an AI coding assistant inside a code editor. You are given a piece of code "
    "from a file and a task. Reply with the complete replacement for that piece of code, in one "
    "fenced code block, and nothing else: no explanation, no other code."
)
SYSTEM_FIM = (
    "You are Kestrel's fill-in-the-middle completion engine. Given the code before and after the "
    "cursor, reply with only the text to insert at the cursor: no fences, no explanation."
)


# With setting `reasoning` "provider", an edit for a model that thinks gets this many more
# tokens, so the reasoning (which counts against the limit) leaves room for the answer.
EDIT_REASONING_HEADROOM = 8192


@dataclass(frozen=True)
class EditTask:
    kind: str
    instruction: str


TASKS = {
    "quickfix.kestrel": EditTask(
        "quickfix.kestrel", "Fix the problems reported by these diagnostics, changing as little "
        "as possible."
    ),
    "refactor.rewrite.kestrel.docstring": EditTask(
        "refactor.rewrite.kestrel.docstring",
        "Add a concise docstring (or the language's doc comment) to this definition. Keep the "
        "code itself unchanged.",
    ),
    "refactor.rewrite.kestrel.selection": EditTask(
        "refactor.rewrite.kestrel.selection",
        "Rewrite this code to be clearer and more idiomatic, with the same behaviour.",
    ),
}  # fmt: skip


def edit_prompt(
    *,
    task: EditTask,
    language: str,
    path: str,
    target: str,
    before: str,
    after: str,
    diagnostics: list[str],
) -> ChatPrompt:
    parts = [
        f"Language: {language}",
        f"File: {path}",
        f"Task: {task.instruction}",
    ]
    if diagnostics:
        parts.append("Diagnostics:\n" + "\n".join(f"- {d}" for d in diagnostics))
    if before.strip():
        parts.append(f"Code before the target (context, do not repeat it):\n```\n{before}\n```")
    if after.strip():
        parts.append(f"Code after the target (context, do not repeat it):\n```\n{after}\n```")
    parts.append(f"The code to replace:\n```{language}\n{target.rstrip()}\n```")
    return ChatPrompt(
        system=SYSTEM_EDIT,
        user="\n\n".join(parts),
        max_tokens=2048,
        reasoning_headroom=EDIT_REASONING_HEADROOM,
    )


def fim_prompt(prefix: str, suffix: str) -> FimPrompt:
    return FimPrompt(prefix=prefix, suffix=suffix)


def fim_as_chat(prefix: str, suffix: str, language: str) -> ChatPrompt:
    user = (
        f"Language: {language}\nComplete the code at <CURSOR> (fill-in-the-middle).\n"
        f"{prefix}<CURSOR>{suffix}"
    )
    return ChatPrompt(system=SYSTEM_FIM, user=user, max_tokens=128, temperature=0.0)
