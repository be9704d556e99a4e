import threading
from datetime import UTC

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from digest import selectors
from digest.delivery import planning, sending
from digest.lib import progress
from digest.lib.commands import MigratedCommand, sigterm_sets
from digest.ranking.picking import pick
from subscriptions.models import Subscriber


class Command(MigratedCommand):
    help = (
        "Sends every digest due now and not yet sent. --all sends today's digest to every "
        "active subscriber who has not had it, whatever their hour. --dry-run prints who "
        "would get what and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="ignore send hour and weekday")
        parser.add_argument("--dry-run", action="store_true", help="print, send nothing")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["dry_run"]:
            return self._dry_run(now, everyone=options["all"])
        with (
            sigterm_sets(threading.Event()) as stop,
            progress.track("send_digests", self.stderr, unit="digests") as watch,
        ):
            report = sending.send_due(now, everyone=options["all"], stop=stop)
            summary = watch.close()
        self.stderr.write(summary)
        self.stdout.write(
            f"planned {report.planned}, sent {report.sent}, empty {report.empty}, "
            f"failed {report.failed}, cancelled {report.cancelled}, "
            f"left for retry {report.released}"
        )
        for error in report.errors:
            self.stderr.write(f"  {error}")
        if stop.is_set():
            raise CommandError(
                "stopped by SIGTERM: the digests the mail server took are recorded as sent, "
                "the others wait for the next run"
            )
        if report.released:
            raise CommandError(
                "The mail server could not take every digest; the rest stay queued and go "
                "out on the next run."
            )

    def _dry_run(self, now, *, everyone: bool) -> None:
        due = planning.due_digests(now, everyone=everyone)
        if not due:
            self.stdout.write("Nobody is due a digest now.")
            return
        subscribers = Subscriber.objects.in_bulk([d.subscriber_id for d in due])
        today = now.astimezone(UTC).date()
        since = selectors.digest_since(subscribers.values(), today, settings.DIGEST_WINDOW_DAYS)
        pools: dict = {}
        for item in due:
            subscriber = subscribers[item.subscriber_id]
            key = since[subscriber.pk]
            if key not in pools:
                pools[key] = selectors.paper_pool(key)
            profile = selectors.profiles_for([subscriber])[0]
            picks = pick(pools[key], [profile]).get(subscriber.pk, [])
            titles = {p.id: p.title for p in pools[key]}
            self.stdout.write(f"{subscriber.email} ({item.digest_date}): {len(picks)} papers")
            for n, chosen in enumerate(picks, start=1):
                self.stdout.write(f"  {n}. {titles[chosen.paper_id][:90]}  [{chosen.reason}]")
