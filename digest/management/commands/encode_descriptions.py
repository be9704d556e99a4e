"""`manage.py encode_descriptions`: store the encoder vector of every description lacking one."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from digest.ops import progress
from digest.ranking import semantic
from subscriptions.models import Interest


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
        stale = (
            Interest.objects.exclude(description="")
            .exclude(description_model=encoder.model_id)
            .only("pk", "description")
            .order_by("pk")
        )
        done = 0
        with progress.track(
            "encode_descriptions", self.stderr, total=stale.count(), unit="descriptions"
        ) as watch:
            pending = list(stale[:batch])
            while pending:
                vectors = encoder.encode([i.description.strip() for i in pending])
                for interest, vector in zip(pending, vectors, strict=True):
                    interest.description_vector = semantic.to_bytes(vector)
                    interest.description_model = encoder.model_id
                # bulk_update skips save(): the vectors are set here already.
                Interest.objects.bulk_update(pending, ["description_vector", "description_model"])
                done += len(pending)
                watch.advance(len(pending))
                pending = list(stale.filter(pk__gt=pending[-1].pk)[:batch])
            summary = watch.close()
        self.stdout.write(f"Encoded {done} descriptions with {encoder.model_id}.")
        self.stderr.write(summary)
