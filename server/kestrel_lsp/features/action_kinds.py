"""The code action kinds and the command Kestrel registers: all the server needs of the code
actions to announce them, without importing the feature (it loads after `initialize`)."""

from __future__ import annotations

QUICKFIX = "quickfix.kestrel"
DOCSTRING = "refactor.rewrite.kestrel.docstring"
SELECTION = "refactor.rewrite.kestrel.selection"
CUSTOM = "refactor.rewrite.kestrel.custom"  # the user's own actions (setting `actions`)
KINDS = [QUICKFIX, DOCSTRING, SELECTION, CUSTOM]
APPLY_COMMAND = "kestrel.applyAction"
