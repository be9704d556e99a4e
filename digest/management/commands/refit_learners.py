"""`manage.py refit_learners`: refit the learners whose answers changed (as the task does)."""

from __future__ import annotations

from django.core.management.base import CommandError

from digest.lib.arguments import whole_number
from digest.lib.commands import MigratedCommand
from digest.ranking import semantic
from subscriptions import learners as learning


class Command(MigratedCommand):
    help = (
        "Refit each subscriber's learner whose answers or interests changed since its last "
        "fit (all subscribers with answers, or those given); unchanged ones are skipped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("subscriber_ids", nargs="*", type=int)
        parser.add_argument(
            "--batch",
            type=whole_number(1, 100_000),
            default=learning.REFIT_BATCH,
            help=f"subscribers per batch (default {learning.REFIT_BATCH})",
        )

    def handle(self, *args, subscriber_ids: list[int], batch: int, **options) -> None:
        ids, unknown = learning.refit_candidates(subscriber_ids)
        if unknown:
            listed = ", ".join(map(str, unknown))
            who = (
                f"subscribers with ids {listed}"
                if len(unknown) > 1
                else f"subscriber with id {listed}"
            )
            raise CommandError(f"no {who}; nothing was refitted")
        if semantic.encoder() is None:
            raise CommandError(
                "the sentence encoder is not available (see the warning above, "
                "or PAPERBOY_SEMANTIC=off); nothing was changed"
            )
        changed = 0
        for a in range(0, len(ids), batch):
            changed += learning.learners_refit(ids[a : a + batch])
        self.stdout.write(f"{changed} learners refitted or removed, of {len(ids)} subscribers")
