"""Kestrel's one HTTP stack: HTTP/1.1 framed by h11 over asyncio, for direct and proxied
connections alike, and the connect-only reachability check.

- `errors`: failures typed by phase and cause (never classified by their text);
- `tls`: the trust store plus extra CAs, and the per-host insecure context;
- `stream`: one socket's bytes as an asyncio protocol, with the attempt's deadline;
- `connect`: DNS, TCP, proxy (CONNECT or absolute-form) and TLS, in that order;
- `http11`: one request and its response on a connection, bodies bounded;
- `decoding`: gzip and deflate, inflated in bounded steps;
- `pool`: `HttpTransport`, the keep-alive pool with at most 16 connections per origin.

This package imports nothing at import time; `pool` (and with it h11) is loaded with the client.
"""
