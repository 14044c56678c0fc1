"""Capability sets and the params of the messages the bench and the tests send most."""

from __future__ import annotations

import os

from .framing import Json

# What the bench declares for every server it measures: an editor with inline completion,
# code action resolve, progress and configuration.
BENCH_CAPABILITIES: Json = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False, "didSave": True},
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {"dynamicRegistration": False},
        "codeAction": {
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["", "quickfix", "refactor", "refactor.rewrite"]}
            },
            "resolveSupport": {"properties": ["edit"]},
            "dataSupport": True,
        },
    },
    "workspace": {"configuration": True, "workspaceFolders": True, "applyEdit": True},
    "window": {"workDoneProgress": True},
}

# A trimmed VS Code-like capability set: resolve support for edits, progress, configuration,
# inline completion.
VSCODE_LIKE: Json = {
    "workspace": {
        "configuration": True,
        "applyEdit": True,
        "workspaceEdit": {"documentChanges": True},
        "didChangeConfiguration": {"dynamicRegistration": True},
    },
    "textDocument": {
        "synchronization": {"didSave": True},
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "refactor"]}},
            "resolveSupport": {"properties": ["edit"]},
            "dataSupport": True,
        },
    },
    "window": {"workDoneProgress": True, "showMessage": {}},
}

# An editor without resolve support (Emacs-like): actions carry a command instead.
PLAIN: Json = {
    "workspace": {"applyEdit": True},
    "textDocument": {"synchronization": {}, "completion": {}, "codeAction": {}},
}

UNKNOWN_METHOD = "kestrelBench/unknownMethod"
"""A request no server knows: its error answer is a pure JSON-RPC round trip."""


def initialize_params(root: str, initialization_options: Json = None) -> Json:
    return {
        "processId": os.getpid(),
        "clientInfo": {"name": "kestrel-bench", "version": "1.0"},
        "rootUri": f"file://{root}",
        "workspaceFolders": [{"uri": f"file://{root}", "name": "bench"}],
        "capabilities": BENCH_CAPABILITIES,
        "initializationOptions": initialization_options,
    }


def did_open(uri: str, text: str, language: str = "python", version: int = 1) -> Json:
    return {"textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}}


def insert(uri: str, version: int, line: int, character: int, text: str) -> Json:
    position = {"line": line, "character": character}
    return {
        "textDocument": {"uri": uri, "version": version},
        "contentChanges": [{"range": {"start": position, "end": position}, "text": text}],
    }


def position_params(uri: str, line: int, character: int) -> Json:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def inline_params(uri: str, line: int, character: int) -> Json:
    params = position_params(uri, line, character)
    params["context"] = {"triggerKind": 2}  # Automatic: typing
    return params
