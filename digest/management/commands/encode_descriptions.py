"""`manage.py encode_descriptions`: store the encoder vector of every description lacking one."""

from __future__ import annotations

from django.core.management.base import CommandError

from digest.lib import progress
from digest.lib.arguments import whole_number
from digest.lib.commands import MigratedCommand
from digest.ranking import semantic
from subscriptions.services import interests_encode_stale, interests_with_stale_vectors


class Command(MigratedCommand):
    help = (
        "Encode each description whose stored vector is missing or from another model "
        "(after an upgrade, or after running with the encoder off)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch",
            type=whole_number(1, 100_000),
            default=256,
            help="descriptions per batch (1 to 100,000)",
        )

    def handle(self, *args, batch: int, **options) -> None:
        encoder = semantic.encoder()
        if encoder is None:
            raise CommandError(
                "the sentence encoder is not available (see the warning above, "
                "or PAPERBOY_SEMANTIC=off); nothing was changed"
            )
        stale = interests_with_stale_vectors(encoder).count()
        with progress.track(
            "encode_descriptions", self.stderr, total=stale, unit="descriptions"
        ) as watch:
            done = interests_encode_stale(encoder, batch=batch, on_batch=watch.advance)
            summary = watch.close()
        self.stdout.write(f"Encoded {done} descriptions with {encoder.model_id}.")
        self.stderr.write(summary)
