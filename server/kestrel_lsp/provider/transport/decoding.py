"""Content-Encoding: identity, gzip or deflate, inflated in bounded steps so a small body that
inflates to gigabytes is refused after the limit, never held in memory."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from kestrel_lsp.provider.transport.errors import MalformedReply

STEP = 256 * 1024  # most output one decompress call may make


class Decoder:
    def decode(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> bytes:
        return b""


class _Inflate(Decoder):
    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._inflater = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" is sent with and without zlib's header
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self._inflater.decompress(data, STEP)
            except zlib.error:
                if self._raw_fallback and not self._started:
                    self._raw_fallback = False
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise MalformedReply("the reply's compressed body is corrupt") from None
            self._started = True
            data = self._inflater.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        try:
            return self._inflater.flush()
        except zlib.error:
            raise MalformedReply("the reply's compressed body is corrupt") from None


def decoder_for(content_encoding: str | None) -> Decoder:
    coding = (content_encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        return Decoder()
    if coding in ("gzip", "x-gzip"):
        return _Inflate(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Inflate(zlib.MAX_WBITS, raw_fallback=True)
    raise MalformedReply("the reply uses a content encoding Kestrel did not ask for")
