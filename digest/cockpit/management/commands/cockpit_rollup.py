"""`manage.py cockpit_rollup`: fill the cockpit's daily stats and print what needs a person."""

from __future__ import annotations

from django.core.management.base import CommandParser

from digest.cockpit import services, warnings
from digest.lib.arguments import whole_number
from digest.lib.commands import MigratedCommand

# Ten years of days; more would write empty rows for days before the service existed.
MAX_DAYS = 3660


class Command(MigratedCommand):
    help = (
        "Roll up the cockpit's daily numbers for the finished days of the last --days "
        "(only days not yet rolled up, unless --force), then print and log the warnings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=whole_number(1, MAX_DAYS),
            default=14,
            help=f"how many finished days back, 1 to {MAX_DAYS} (default 14)",
        )
        parser.add_argument("--force", action="store_true", help="recompute days already done")

    def handle(self, *args, days: int, force: bool, **options) -> None:
        written = services.stats_rollup(days, force=force)
        self.stdout.write(f"Rolled up {len(written)} day(s).")
        alerts = warnings.alerts_collect()
        warnings.alerts_log(alerts)
        for alert in alerts:
            self.stdout.write(f"WARNING {alert.code}: {alert.message}")
        if not alerts:
            self.stdout.write("No warnings.")
