"""The provider simulator (`kestrel-lsp simulate`): a local LLM provider playing fault scripts."""

from kestrel_lsp.simulator.process import SimulatorProcess
from kestrel_lsp.simulator.script import (
    Script,
    ScriptError,
    Step,
    load_script,
    named_scripts,
    parse_script,
)
from kestrel_lsp.simulator.server import RequestRecord, SimulatorServer

__all__ = [
    "RequestRecord",
    "Script",
    "ScriptError",
    "SimulatorProcess",
    "SimulatorServer",
    "Step",
    "load_script",
    "named_scripts",
    "parse_script",
]
