"""`manage.py encode_descriptions`: store the encoder vector of every description lacking one."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from digest.ranking import semantic
from subscriptions.services import interests_encode_stale


class Command(BaseCommand):
    help = (
        "Encode each description whose stored vector is missing or from another model "
        "(after an upgrade, or after running with the encoder off)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=256, help="descriptions per batch")

    def handle(self, *args, batch: int, **options) -> None:
        encoder = semantic.encoder()
        if encoder is None:
            raise CommandError(
                "the sentence encoder is not available (see the warning above, "
                "or PAPERBOY_SEMANTIC=off); nothing was changed"
            )
        done = interests_encode_stale(encoder, batch=batch)
        self.stdout.write(f"Encoded {done} descriptions with {encoder.model_id}.")
