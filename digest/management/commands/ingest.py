"""`manage.py ingest`: pull every enabled source, one URL with --url and --kind, the feed
of some categories (--kind arxiv-rss --category cs.LG), or an arXiv API backfill of a
date range (--since/--until, --category, --query)."""

from __future__ import annotations

from argparse import ArgumentTypeError
from datetime import date

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from digest.ingest.passes import ingest_all
from digest.ingest.pipeline import ingest_url
from digest.lib import progress
from digest.lib.commands import MigratedCommand
from digest.models import FetchRun, SourceKind
from digest.sources.arxiv_api import API_URL, query_url
from digest.sources.arxiv_rss import FEED_BASE, feed_url
from digest.sources.base import IngestError

BACKFILL_OPTIONS = ("since", "until", "category", "query", "max_results")


def describe(run: FetchRun) -> str:
    """One line per run: what was pulled and what it changed."""
    name = run.source.name if run.source else "ad-hoc"
    line = (
        f"{name} [{run.kind}] {run.status}: {run.new_count} new, {run.updated_count} updated, "
        f"{run.skipped_count} skipped (HTTP {run.http_status or '-'}) {run.url}"
    )
    notes = run.error.splitlines()
    if run.status == FetchRun.Status.FAILED:
        line += f" -- {notes[0] if notes else 'failed'}"
    elif notes:  # What a pull skipped or could not read is said, not only counted.
        line += f" -- {notes[0]}"
        line += f" (and {len(notes) - 1} more in its fetch run)" if len(notes) > 1 else ""
    return line


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ArgumentTypeError(f"not a positive whole number: {value!r}")
    return int(value)


class Command(MigratedCommand):
    help = (
        "Pull every enabled source now, or one ad-hoc URL (--url URL --kind KIND), or "
        "the feed of categories (--kind arxiv-rss --category cs.LG), or backfill from the "
        "arXiv API (--since 2025-08-01 --until 2025-08-07 --category cs.LG)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", help="Pull this URL once instead of the configured sources.")
        parser.add_argument(
            "--kind", choices=SourceKind.values, help="What the URL serves (with --url)."
        )
        backfill = parser.add_argument_group(
            "arXiv API backfill",
            "Build an arXiv API query and pull every page of it, one request per "
            "ARXIV_MIN_INTERVAL_SECONDS. --url, if given, is the API endpoint "
            f"(default {API_URL}).",
        )
        backfill.add_argument("--since", type=_day, help="First submission day (YYYY-MM-DD).")
        backfill.add_argument("--until", type=_day, help="Last submission day (YYYY-MM-DD).")
        backfill.add_argument(
            "--category",
            action="append",
            metavar="CAT",
            help=(
                "An arXiv category, e.g. cs.LG; repeat for several (any of them matches). "
                "With --kind arxiv-rss: pull their announcement feed (--url: the feed folder)."
            ),
        )
        backfill.add_argument(
            "--query", default="", help="More API search terms, e.g. 'abs:diffusion'."
        )
        backfill.add_argument(
            "--max-results",
            type=_positive,
            help="Stop after this many results (default and cap: ARXIV_API_MAX_RESULTS).",
        )

    def handle(self, *args, **options) -> None:
        try:
            self._handle(**options)
        except DatabaseError as error:
            # SQLite locked by another writer past its timeout, or the database gone.
            raise CommandError(
                f"could not write to the database: {error}. A pull's papers are written "
                "whole or not at all; run the command again."
            ) from None

    def _handle(self, *, url: str | None = None, kind: str | None = None, **options) -> None:
        if options.get("category") and kind == SourceKind.ARXIV_RSS:
            if any(options.get(name) for name in BACKFILL_OPTIONS if name != "category"):
                raise CommandError("--since/--until/--query/--max-results need --kind arxiv-api")
            try:
                url = feed_url(options["category"], base=url or FEED_BASE)
            except IngestError as error:
                raise CommandError(str(error)) from None
        elif any(options.get(name) for name in BACKFILL_OPTIONS):
            url, kind = self._backfill_url(url, kind, options), SourceKind.ARXIV_API
        elif bool(url) != bool(kind):
            raise CommandError("--url and --kind go together (e.g. --url URL --kind arxiv-rss)")
        if url:
            with progress.track("ingest", self.stderr, unit="papers") as watch:
                try:
                    run = ingest_url(url, kind or "")  # kind is set here: checked above
                except IngestError as error:
                    raise CommandError(str(error)) from None
                summary = watch.close()
            if run.status == FetchRun.Status.FAILED:
                raise CommandError(f"pull of {url} failed: {run.error.splitlines()[0]}")
            self.stdout.write(describe(run))
            self.stderr.write(summary)
            return
        with progress.track("ingest", self.stderr, unit="sources") as watch:
            runs = ingest_all()
            summary = watch.close()
        if not runs:
            self.stdout.write("No enabled sources.")
        for run in runs:
            self.stdout.write(describe(run))
        self.stderr.write(summary)
        failed = [run for run in runs if run.status == FetchRun.Status.FAILED]
        if failed and len(failed) == len(runs):
            raise CommandError(f"all {len(runs)} sources failed")

    def _backfill_url(self, url: str | None, kind: str | None, options: dict) -> str:
        if kind not in (None, SourceKind.ARXIV_API):
            raise CommandError("--since/--until/--query backfill from --kind arxiv-api")
        since, until = options.get("since"), options.get("until")
        if kind is None and not (since or until or options.get("query")):
            raise CommandError(
                "--category needs --kind arxiv-rss (today's feed) or arxiv-api (a backfill)"
            )
        if since and until and since > until:
            raise CommandError(f"--since {since} is after --until {until}")
        try:
            return query_url(
                categories=options.get("category") or None,
                since=since,
                until=until,
                query=options.get("query") or "",
                max_results=options.get("max_results"),
                base=url or API_URL,
            )
        except IngestError as error:
            raise CommandError(str(error)) from None
