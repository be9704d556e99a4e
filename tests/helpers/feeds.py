"""Recorded listings, and a real HTTP server on loopback that serves them (`FeedServer`)."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
ATOM_FEED = "arxiv-rss-atom-flavour_cs.AI_2025-08-20_full87.xml"
RSS_FEED = "arxiv-rss-2.0_cs.AI_2025-08-20_announce-types.xml"
EMPTY_FEED = "arxiv-rss-2.0_empty_weekend.xml"
API_PAGE = "arxiv-api-query-atom_all-science_2019-08-10_first3entries.xml"
API_ERROR = "arxiv-api-error_incorrect-id.xml"
HF_JSON = "hf-daily-papers-api_2024-10-25_first2items.json"
HF_PAGE = "hf-daily-papers-page_2024-10-25.html"

ATOM_TYPE = "application/atom+xml; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


def feed_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


@dataclass
class Reply:
    """One canned answer. With `etag`, a request carrying it gets 304 instead."""

    status: int = 200
    body: bytes = b""
    content_type: str = ATOM_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    delay: float = 0.0
    # False: no Content-Length, the body simply runs until the connection closes.
    declare_length: bool = True


class FeedServer:
    """Routes path -> replies; each request takes the next reply, the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def serve(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies)
        return self.url(path)

    def serve_file(self, path: str, name: str, content_type: str = ATOM_TYPE, **kw) -> str:
        return self.serve(path, Reply(body=feed_bytes(name), content_type=content_type, **kw))

    def hits(self, path: str) -> list[tuple[str, dict[str, str], float]]:
        return [r for r in self.requests if r[0].split("?", 1)[0] == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.path, headers, time.monotonic()))
                replies = server.routes.get(self.path.split("?", 1)[0])
                if not replies:
                    self.send_error(404)
                    return
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.etag and headers.get("if-none-match") == reply.etag:
                    self.send_response(304)
                    self.send_header("ETag", reply.etag)
                    self.end_headers()
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.declare_length:
                    self.send_header("Content-Length", str(len(reply.body)))
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                # The client may hang up on purpose (size cap, timeout).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
