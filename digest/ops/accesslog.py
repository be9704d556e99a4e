"""gunicorn's access log without the tokens in the URLs (deploy/gunicorn.conf.py).

Loaded by gunicorn before Django: it imports nothing of Django's.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from .redact import redact


class RedactingLogger(Logger):
    """Writes the request line, path, query string and headers with tokens replaced."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: redact(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }
