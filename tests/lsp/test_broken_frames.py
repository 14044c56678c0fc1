"""Broken frames, one server process each (SPEC, Bad input): a frame with a bad header or a wrong
Content-Length may end the process, but never hangs it, and closing stdin ends it.

Each case: a valid request (answered), the broken frame, a valid follow-up request, then stdin
is closed at once. The process must exit within a bound (a hang fails; the time is never
asserted), having written only well-formed frames, no traceback and no key. Whether the
follow-up was answered (the reader resynchronised) is recorded and printed, and required for
the frames that are valid LSP after all (extra headers, an empty body).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lsp_wire import VSCODE_LIKE, RawServer, encode, frame, initialize

from lsp_harness import CANARY
from reliability_report import REPORT

EXIT_BOUND_S = 60  # a hang fails the case; how long the exit takes is not asserted


def body(msg_id: int, method: str = "kestrel/probe") -> bytes:
    return encode({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": {}})


BROKEN = body(50)


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    follow_up_answered: bool | None = None  # None: either way (the reader may desynchronise)


CASES = [
    Case("header name misspelt", b"Content-Lenght: %d\r\n\r\n" % len(BROKEN) + BROKEN),
    Case("Content-Length not a number", b"Content-Length: twelve\r\n\r\n" + BROKEN),
    Case("negative Content-Length", b"Content-Length: -5\r\n\r\n" + BROKEN),
    Case("Content-Length too long", b"Content-Length: %d\r\n\r\n" % (len(BROKEN) + 40) + BROKEN),
    Case("Content-Length too short", b"Content-Length: %d\r\n\r\n" % (len(BROKEN) - 9) + BROKEN),
    Case("absurd Content-Length (10^12)", b"Content-Length: 1000000000000\r\n\r\n" + BROKEN),
    Case("no blank line after the header", b"Content-Length: %d\r\n" % len(BROKEN) + BROKEN),
    Case("LF instead of CRLF", b"Content-Length: %d\n\n" % len(BROKEN) + BROKEN),
    Case("no space after the colon", b"Content-Length:%d\r\n\r\n" % len(BROKEN) + BROKEN),
    Case("garbage bytes before the header", b"\x00\xff garbage\r\n" + frame(BROKEN)),
    Case("a header line of 1 MB", b"X-Junk: " + b"j" * 1_000_000 + b"\r\n" + frame(BROKEN)),
    Case(
        "extra Content-Type header (valid LSP)",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" + frame(BROKEN),
        follow_up_answered=True,
    ),
    Case("empty body, Content-Length: 0", b"Content-Length: 0\r\n\r\n", follow_up_answered=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_broken_frame_never_hangs_the_server(case: Case) -> None:
    with RawServer() as server:
        initialize(
            server, init={"provider": "deepseek", "apiKey": CANARY}, capabilities=VSCODE_LIKE
        )
        first = server.request_wait("kestrel/before", {})
        assert first["error"]["code"] == -32601

        server.send_raw(case.data)
        server.send_body(body(60, "kestrel/after"))
        server.close_stdin()
        code = server.wait_exit(EXIT_BOUND_S)

        assert code is not None, f"still running {EXIT_BOUND_S} s after stdin was closed"
        answered = bool(server.responses(60))
        written = bytes(server.received.stdout) + bytes(server.received.stderr)
        outcome = f"exit code {code} after stdin closed; follow-up " + (
            "answered" if answered else "not answered (reader desynchronised or stopped)"
        )
        REPORT.broken_frames.append(f"{case.name}: {outcome}")

        assert not server.received.frame_errors, server.received.frame_errors
        assert b"Traceback" not in bytes(server.received.stdout)
        assert CANARY.encode() not in written
        for notice in server.notifications("window/showMessage"):
            assert str(notice["message"]).startswith("Kestrel: "), notice
        for answer in server.responses(50) + server.responses(60):
            if "error" in answer:
                assert "\n" not in answer["error"]["message"]
        if case.follow_up_answered is not None:
            assert answered == case.follow_up_answered, outcome
            assert code == 0, outcome
