"""Content-Encoding undone a slice at a time, so a compression bomb never fills memory.

httpx inflates each chunk read off the socket in one call, layer after layer: a body of
a few hundred bytes gzipped twice ("Content-Encoding: gzip, gzip") becomes hundreds of
megabytes before the size cap sees a single byte of it. Here every layer hands on at
most `SLICE` bytes at a time, so the cap (digest.sources.http) stops a bomb after
reading at most one slice past it, whatever its ratio.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from digest.sources.base import IngestError

# What we send as Accept-Encoding; a server that answers with another encoding is refused.
ACCEPT_ENCODING = "gzip, deflate"
SLICE = 64 * 1024
_GZIP_OR_ZLIB = zlib.MAX_WBITS | 32  # zlib detects the gzip or zlib header by itself


def encodings(header: str) -> list[str]:
    """The codings of a Content-Encoding header, in the order they were applied."""
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    for coding in codings:
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise IngestError(f"unsupported content encoding {coding!r}")
    return codings


def decoded(raw: Iterable[bytes], header: str) -> Iterator[bytes]:
    """The body `raw` (chunks as they came off the wire) with `header`'s codings undone,
    in slices of at most SLICE bytes."""
    chunks: Iterable[bytes] = raw
    for coding in reversed(encodings(header)):  # the last one applied is undone first
        chunks = _inflated(chunks, deflate=coding == "deflate")
    return iter(chunks)


def _inflated(chunks: Iterable[bytes], *, deflate: bool) -> Iterator[bytes]:
    # HTTP's "deflate" is meant to carry a zlib header; some servers send raw deflate.
    inflater = zlib.decompressobj(zlib.MAX_WBITS if deflate else _GZIP_OR_ZLIB)
    started = False
    try:
        for chunk in chunks:
            data = chunk
            while data:
                try:
                    piece = inflater.decompress(data, SLICE)
                except zlib.error:
                    if not deflate or started:
                        raise
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    piece = inflater.decompress(data, SLICE)
                started = True
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
        if tail := inflater.flush():
            yield tail
    except zlib.error as error:
        raise IngestError(f"undecodable compressed body: {error}") from error
