"""Source kind -> adapter. Adapters are imported on first use, like anymail's backends."""

from __future__ import annotations

from django.utils.module_loading import import_string

from digest.sources.base import IngestError, SourceAdapter

ADAPTERS: dict[str, str] = {
    "arxiv-rss": "digest.sources.arxiv_rss.ArxivRssAdapter",
    "arxiv-api": "digest.sources.arxiv_api.ArxivApiAdapter",
    "hf-daily": "digest.sources.hf_daily.HfDailyAdapter",
}


def kinds() -> list[str]:
    return list(ADAPTERS)


def get_adapter(kind: str) -> SourceAdapter:
    """The adapter for `kind`; IngestError (permanent) for a kind we do not know."""
    try:
        path = ADAPTERS[kind]
    except KeyError:
        raise IngestError(
            f"unknown source kind {kind!r} (expected one of: {', '.join(ADAPTERS)})"
        ) from None
    return import_string(path)()
