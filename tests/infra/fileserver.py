"""Loopback HTTP file server for downloader tests: Range support and mid-transfer cuts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    """What the server offers and what it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, list[int]] = field(default_factory=dict)  # per path, one per request
    tokens: dict[str, str] = field(default_factory=dict)
    ignore_range: bool = False
    requests: list[tuple[str, str | None, str | None]] = field(default_factory=list)


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            rng, auth = self.headers.get("Range"), self.headers.get("Authorization")
            served.requests.append((self.path, rng, auth))
            body = served.files.get(self.path)
            want = served.tokens.get(self.path)
            if want is not None and auth != f"Bearer {want}":
                return self._plain(401)
            if body is None:
                return self._plain(404)
            start = 0
            if rng and not served.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    return self._plain(416)
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            cuts = served.cut_after.get(self.path)
            if cuts:
                # Promise the whole body, send part of it, drop the connection.
                self.wfile.write(body[start : start + cuts.pop(0)])
                self.wfile.flush()
                self.close_connection = True
                return None
            self.wfile.write(body[start:])
            return None

        def _plain(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def file_server(served: Served) -> Iterator[str]:
    """Serve `served` on 127.0.0.1; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
