"""The floor of Kestrel's stack: a pygls server with nothing registered (pygls's own document
store handles didOpen/didChange). The benchmark starts it as `python bench/bare_pygls.py`."""

from pygls.lsp.server import LanguageServer

server = LanguageServer("bare-pygls", "0")

if __name__ == "__main__":
    server.start_io()
