"""The shared framed client (bench/lsp_wire) sees what a server does wrong: the raw-protocol tests
assert it found no bad frame, so it must find them when there are some."""

from __future__ import annotations

import sys
import textwrap

import pytest

from lsp_wire import BlockingClient, FrameError, build_message, frame, message_key
from lsp_wire.framing import header_length

# A "server" that answers nothing and writes: a good frame, a body that is not JSON, a header
# block without Content-Length, a request of its own, and a body cut short by its exit.
BAD_SERVER = textwrap.dedent(
    r"""
    import sys
    out = sys.stdout.buffer
    def frame(body):
        out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    frame(b'{"jsonrpc":"2.0","method":"window/logMessage","params":{"message":"hi"}}')
    frame(b"not json")
    out.write(b"X-Other: 1\r\n\r\n")
    frame(b'{"jsonrpc":"2.0","id":7,"method":"workspace/configuration","params":{"items":[{}]}}')
    out.flush()
    length = int(sys.stdin.buffer.readline().split(b":")[1])  # the client's answer to 7
    sys.stdin.buffer.readline()
    sys.stderr.buffer.write(sys.stdin.buffer.read(length))
    sys.stderr.flush()
    out.write(b"Content-Length: 50\r\n\r\n{}")
    out.flush()
    """
)


def test_header_lines() -> None:
    assert header_length(b"Content-Length: 12\r\n") == 12
    assert header_length(b"content-length:3\r\n") == 3
    assert header_length(b"Content-Type: application/json\r\n") is None
    for bad in (b"Content-Length: twelve\r\n", b"Content-Length: -5\r\n"):
        with pytest.raises(FrameError):
            header_length(bad)


def test_ids_keep_their_json_type() -> None:
    assert message_key(1) != message_key("1")
    assert message_key({"b": 1, "a": 2}) == message_key({"a": 2, "b": 1})
    assert build_message("exit", None) == {"jsonrpc": "2.0", "method": "exit"}
    assert build_message("m", [], 3) == {"jsonrpc": "2.0", "id": 3, "method": "m", "params": []}
    assert frame(b"{}") == b"Content-Length: 2\r\n\r\n{}"


def test_bad_frames_are_recorded_and_the_servers_requests_answered() -> None:
    with BlockingClient([sys.executable, "-c", BAD_SERVER]) as server:
        assert server.wait_exit(30) == 0
        received = server.received
        assert [m.get("method") for m in received.messages] == [
            "window/logMessage",
            "workspace/configuration",
        ]
        assert server.notifications("window/logMessage") == [{"message": "hi"}]
        assert [error.split(":")[0] for error in received.frame_errors] == [
            "body is not JSON",
            "a header without Content-Length",
            "body cut short",
        ]
        assert received.stdout.endswith(b"Content-Length: 50\r\n\r\n{}")
        assert bytes(received.stderr) == b'{"jsonrpc":"2.0","id":7,"result":[null]}'
