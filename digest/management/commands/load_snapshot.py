"""`manage.py load_snapshot`: load the bundled offline snapshot as today's listing."""

from __future__ import annotations

from django.core.management.base import CommandError

from digest.ingest.pipeline import load_snapshot
from digest.lib import progress
from digest.lib.commands import MigratedCommand
from digest.sources.base import IngestError
from digest.tasks import prepare_ranking


class Command(MigratedCommand):
    help = (
        "Load the bundled real-format listings (digest/snapshot/) as today's papers, and "
        "prepare the day's ranking."
    )

    def handle(self, *args, **options) -> None:
        with progress.track("load_snapshot", self.stderr, unit="files") as watch:
            try:
                totals = load_snapshot()
            except (IngestError, OSError) as error:
                raise CommandError(f"could not load the snapshot: {error}") from None
            summary = watch.close()
        self.stdout.write(
            f"Snapshot: {totals['records']} records from {totals['files']} files: "
            f"{totals['new']} new, {totals['updated']} updated, {totals['skipped']} skipped; "
            f"{totals['papers']} papers announced today."
        )
        self.stderr.write(summary)
        # Encoded here rather than by the first page that reads a description (seconds on a
        # fresh machine): the web process then finds the day's terms in the term store.
        terms = prepare_ranking()
        self.stdout.write(f"Ranking prepared: {terms} terms of today's vocabulary encoded.")
