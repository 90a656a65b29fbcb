"""The operator's `/metrics`: the registry's series, then every sync's, streamed a piece at a time.

prometheus_client's own server builds the whole exposition in memory before sending it; with the sync
series of 10,000 schedules that was 200 MiB and 3.4 s of CPU a scrape (sync_series.py). This server sends
the registry's few series as prometheus_client writes them, then the sync series in pieces of about 64 KiB,
gzipped when the scraper accepts it (Prometheus does), in the text format 0.0.4 whatever the scraper
prefers (Prometheus reads it; OpenMetrics would add a `_created` series to every counter). As with
prometheus_client's server, every path but /favicon.ico serves the metrics, and `?name[]=` keeps only the
series named.
"""

import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from erpsync.controller.metrics import REGISTRY, SYNC_SERIES

GZIP_WINDOW: Final = 16 + zlib.MAX_WBITS  # zlib's way of asking for a gzip header and trailer
# A scraper that sends no request, or stops reading, is dropped after this long without progress (Prometheus's
# own scrape timeout is 10 s by default): no thread waits on it for ever.
IDLE_SECONDS: Final = 30.0


def exposition(names: frozenset[str] | None = None) -> Iterator[bytes]:
    """Every series (only those in `names`, when given), in pieces."""
    registry = REGISTRY if names is None else REGISTRY.restricted_registry(names)
    yield generate_latest(registry)
    yield from SYNC_SERIES.exposition(names)


def _gzipped(pieces: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP_WINDOW)
    for piece in pieces:
        if compressed := compressor.compress(piece):
            yield compressed
    yield compressor.flush()


class _MetricsHandler(BaseHTTPRequestHandler):
    timeout = IDLE_SECONDS  # the socket's timeout, for each read and write

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/favicon.ico":
            self.send_response(200)
            self.end_headers()
            return
        asked = parse_qs(url.query).get("name[]")
        pieces = exposition(frozenset(asked) if asked else None)
        gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
        if gzip:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes, no length needed up front
        try:
            for piece in _gzipped(pieces) if gzip else pieces:
                self.wfile.write(piece)
        except (ConnectionError, TimeoutError):
            return  # the scraper went away or stopped reading (its timeout): nothing to report, no traceback

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not logged (prometheus_client's server does not either)."""


def serve(port: int, address: str = "0.0.0.0") -> ThreadingHTTPServer:  # a pod serves on all its addresses
    """Serve the metrics on `port` (0: any free one) from threads of their own; the server (its port)."""
    server = ThreadingHTTPServer((address, port), _MetricsHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
