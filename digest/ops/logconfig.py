"""Settings' LOGGING: every line through the formatters of digest/ops/logs.py.

A plain dict, built before Django starts: this module imports nothing (settings load it).
"""

from __future__ import annotations

from typing import Any


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """`json` or `plain` lines on stderr at `level`, with signed tokens redacted in all."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "digest.ops.logs.ContextFilter"}},
        "formatters": {
            "json": {"()": "digest.ops.logs.JsonFormatter"},
            "plain": {
                "()": "digest.ops.logs.PlainFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            },
            # Django's own look for runserver's request lines, with the tokens taken out.
            "django.server": {
                "()": "digest.ops.logs.ServerFormatter",
                "format": "[{server_time}] {message}",
                "style": "{",
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            },
            "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # The development server's request log (`make run`): Django's default handler
            # for it would print each link's token whole.
            "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        },
    }
