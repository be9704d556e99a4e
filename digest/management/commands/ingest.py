"""`manage.py ingest`: pull every enabled source, or one URL with --url and --kind."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest.ingest import ingest_all, ingest_url
from digest.models import FetchRun, SourceKind
from digest.sources.base import IngestError


def describe(run: FetchRun) -> str:
    """One line per run: what was pulled and what it changed."""
    name = run.source.name if run.source else "ad-hoc"
    line = (
        f"{name} [{run.kind}] {run.status}: {run.new_count} new, {run.updated_count} updated, "
        f"{run.skipped_count} skipped (HTTP {run.http_status or '-'}) {run.url}"
    )
    if run.status == FetchRun.Status.FAILED:
        line += f" -- {run.error.splitlines()[0] if run.error else 'failed'}"
    return line


class Command(BaseCommand):
    help = "Pull every enabled source now, or one ad-hoc URL (--url URL --kind KIND)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", help="Pull this URL once instead of the configured sources.")
        parser.add_argument(
            "--kind", choices=SourceKind.values, help="What the URL serves (with --url)."
        )

    def handle(self, *args, url: str | None = None, kind: str | None = None, **options) -> None:
        if bool(url) != bool(kind):
            raise CommandError("--url and --kind go together (e.g. --url URL --kind arxiv-rss)")
        if url:
            try:
                run = ingest_url(url, kind)
            except IngestError as error:
                raise CommandError(str(error)) from None
            if run.status == FetchRun.Status.FAILED:
                raise CommandError(f"pull of {url} failed: {run.error.splitlines()[0]}")
            self.stdout.write(describe(run))
            return
        runs = ingest_all()
        if not runs:
            self.stdout.write("No enabled sources.")
        for run in runs:
            self.stdout.write(describe(run))
        failed = [run for run in runs if run.status == FetchRun.Status.FAILED]
        if failed and len(failed) == len(runs):
            raise CommandError(f"all {len(runs)} sources failed")
