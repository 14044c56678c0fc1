"""Regression tests for what the protocol fuzzer found, one case each, through a raw framed
writer (no client library between the test and the bytes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kestrel_lsp.documents import DocumentStore
from kestrel_lsp.provider.wire import ChatPrompt, FimPrompt
from kestrel_lsp.simulator import SimulatorProcess
from lsp_wire import PLAIN, VSCODE_LIKE, RawServer, encode, initialize

from lsp_harness import CANARY

URI = "file:///work/project/app.py"
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    with RawServer() as srv:
        initialize(srv, init={"provider": "deepseek"}, capabilities=VSCODE_LIKE)
        srv.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": "ab\n"}},
        )
        yield srv


SELECTION = "refactor.rewrite.kestrel.selection"


def answers_to(server: RawServer, body: bytes) -> list[Any]:
    """Everything the server answers (responses, not notifications) to one body."""
    first = len(server.received.messages)
    server.send_body(body)
    sentinel = server.request("kestrel/sentinel", {})
    server.wait_response(sentinel, 30)
    return [
        m
        for m in server.received.messages[first:]
        if isinstance(m, dict) and "method" not in m and m.get("id") != sentinel
    ]


def one_error(answers: list[Any]) -> tuple[Any, int]:
    assert len(answers) == 1, answers
    assert "id" in answers[0], f"an answer must carry an id member (null if unknown): {answers}"
    return answers[0]["id"], answers[0]["error"]["code"]


def request(msg_id: Any, method: Any, params: Any = None, **extra: Any) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method, **extra}
    if params is not None:
        message["params"] = params
    return encode(message)


def code_action_params(line: int = 0, character: int = 0, uri: str = URI) -> dict[str, Any]:
    position = {"line": line, "character": character}
    return {
        "textDocument": {"uri": uri},
        "range": {"start": position, "end": position},
        "context": {"diagnostics": []},
    }


@pytest.mark.parametrize(
    "inner",
    [
        {"jsonrpc": "2.0"},
        {"jsonrpc": "2.0", "id": 99, "method": "textDocument/codeAction", "params": 3},
        {"jsonrpc": "2.0", "id": 98, "result": 1},
    ],
)
def test_a_json_rpc_looking_object_inside_params_is_not_a_message(
    server: RawServer, inner: dict[str, Any]
) -> None:
    params = {**code_action_params(), "context": {"diagnostics": [], "x": inner}}
    answers = answers_to(server, request(501, "textDocument/codeAction", params))
    assert [a["id"] for a in answers] == [501], answers  # nothing for the inner "id"
    assert "result" in answers[0]
    assert one_error(answers_to(server, request(502, "kestrel/x", {"x": inner}))) == (
        502,
        METHOD_NOT_FOUND,
    )


@pytest.mark.parametrize("msg_id", [1.5, True, {"a": 1}, [1], None])
def test_an_id_that_is_not_an_integer_or_string_is_an_invalid_request_with_id_null(
    server: RawServer, msg_id: Any
) -> None:
    assert one_error(answers_to(server, request(msg_id, "textDocument/codeAction", {}))) == (
        None,
        INVALID_REQUEST,
    )


@pytest.mark.parametrize("body", [b"[1, 2]", b"42", b"null", b'"x"', b"[]", b"{}"])
def test_json_that_is_not_a_request_object_is_an_invalid_request(
    server: RawServer, body: bytes
) -> None:
    assert one_error(answers_to(server, body)) == (None, INVALID_REQUEST)


@pytest.mark.parametrize(
    "message",
    [
        {"id": 601, "method": "kestrel/x"},
        {"jsonrpc": "1.0", "id": 601, "method": "kestrel/x"},
        {"jsonrpc": None, "id": 601, "method": "textDocument/codeAction"},
        {"jsonrpc": "2.0", "id": 601, "method": 5},
    ],
)
def test_a_request_that_is_not_json_rpc_2_is_invalid_and_keeps_its_id(
    server: RawServer, message: dict[str, Any]
) -> None:
    assert one_error(answers_to(server, encode(message))) == (601, INVALID_REQUEST)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("kestrel/x", None),
        ("$/unknown", None),
        ("textDocument/hover", {}),  # an LSP method Kestrel does not serve
        ("textDocument/definition", None),
        ("kestrel/x", 5),
    ],
)
def test_an_unknown_method_is_method_not_found_whatever_its_params(
    server: RawServer, method: str, params: Any
) -> None:
    assert one_error(answers_to(server, request(701, method, params))) == (701, METHOD_NOT_FOUND)


def test_known_method_with_missing_or_scalar_params_is_invalid_params(server: RawServer) -> None:
    assert one_error(answers_to(server, request(702, "textDocument/codeAction"))) == (
        702,
        INVALID_PARAMS,
    )
    assert one_error(answers_to(server, request(703, "textDocument/codeAction", 5))) == (
        703,
        INVALID_PARAMS,
    )


@pytest.mark.parametrize("body", [b"\xc5O", b"{\xff}", b" \x95."])
def test_a_body_that_is_not_utf8_is_a_parse_error(server: RawServer, body: bytes) -> None:
    assert one_error(answers_to(server, body)) == (None, PARSE_ERROR)


@pytest.mark.parametrize("data", [[{"uri": URI}], "x", 5])
def test_code_action_data_that_is_not_an_object_is_invalid_params(
    server: RawServer, data: Any
) -> None:
    params = {"title": "Kestrel: x", "data": data}
    assert one_error(answers_to(server, request(801, "codeAction/resolve", params))) == (
        801,
        INVALID_PARAMS,
    )


def test_code_action_data_with_a_negative_line_is_invalid_params(server: RawServer) -> None:
    data = {
        "uri": URI,
        "version": 1,
        "kind": "refactor.rewrite.kestrel.docstring",
        "start_line": -2,
        "end_line": 0,
        "diagnostics": [],
    }
    params = {"title": "Kestrel: x", "data": data}
    assert one_error(answers_to(server, request(802, "codeAction/resolve", params))) == (
        802,
        INVALID_PARAMS,
    )


def test_a_document_with_lone_surrogates_is_served(server: RawServer) -> None:
    uri = "file:///work/project/surrogates.py"
    body = b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":'
    body += b'{"uri":"' + uri.encode() + b'","languageId":"python","version":1,'
    body += b'"text":"x = \\"\\ud800\\"\\ny\\n"}}}'
    server.send_body(body)
    answers = answers_to(
        server, request(901, "textDocument/codeAction", code_action_params(0, 6, uri))
    )
    assert len(answers) == 1 and "result" in answers[0], answers
    # That line is 7 UTF-16 units (x, space, =, space, quote, surrogate, quote): a selection
    # of its last unit is offered a rewrite; one from its end to past it is empty.
    assert SELECTION in offered_kinds(server, 902, uri, (0, 6), (0, 7))
    assert SELECTION not in offered_kinds(server, 903, uri, (0, 7), (0, 8))


def offered_kinds(
    server: RawServer, msg_id: int, uri: str, start: tuple[int, int], end: tuple[int, int]
) -> list[str]:
    params = code_action_params(*start, uri)
    params["range"]["end"] = {"line": end[0], "character": end[1]}
    answers = answers_to(server, request(msg_id, "textDocument/codeAction", params))
    assert len(answers) == 1 and "result" in answers[0], answers
    return [action["kind"] for action in answers[0]["result"]]


def test_lone_surrogates_reach_the_provider_as_replacement_characters() -> None:
    assert ChatPrompt("s\ud800", "u\udfff😀").user == "u\ufffd😀"
    assert FimPrompt("a\udc00", "b").prefix == "a\ufffd"
    with SimulatorProcess("ok") as sim, RawServer() as srv:
        init: dict[str, Any] = {"provider": "deepseek", "baseUrl": sim.url, "apiKey": CANARY}
        init["completion"] = {"debounceMs": 0}
        initialize(srv, init=init, capabilities=PLAIN)
        srv.send_body(
            b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":'
            b'{"uri":"file:///s.py","languageId":"python","version":1,"text":"a\\ud800\\nb"}}}'
        )
        position = {"line": 1, "character": 1}
        params = {"textDocument": {"uri": "file:///s.py"}, "position": position}
        answer = srv.request_wait("textDocument/completion", params)
        assert "result" in answer, answer  # not an internal error
        assert answer["result"]["items"], answer
        assert len(sim.requests()) == 1
        assert srv.shutdown() == 0
        written = bytes(srv.received.stdout) + bytes(srv.received.stderr)
        assert CANARY.encode() not in written


def test_a_newline_inserted_after_a_cr_line_joins_it_into_one_crlf_break() -> None:
    store = DocumentStore()
    doc = store.open(URI, "python", 1, "a\rb")
    doc.apply_change((1, 0), (1, 1), "\nc")  # the text is now "a\r\nc": two lines
    assert doc.text == "a\r\nc"
    assert doc.lines == ["a\r\n", "c"]
    doc = store.open(URI, "python", 1, "a\rX\nb")
    doc.apply_change((1, 0), (1, 1), "")  # delete X: "a\r\nb"
    assert doc.lines == ["a\r\n", "b"]


def test_lone_surrogates_count_as_one_utf16_unit() -> None:
    doc = DocumentStore().open(URI, "python", 1, "\ud800x\n")
    assert doc.offset_of(0, 2) == (0, 2)
    assert doc.offset_of(0, 3) == (0, 2)  # past the end of the line: its end
    assert json.dumps(doc.text)  # still a str the server can answer with
