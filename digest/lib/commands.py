"""What the management commands of ours share: they run only on a migrated database;
a long one can turn SIGTERM into an orderly stop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


class MigratedCommand(BaseCommand):
    """A command that refuses, in one line, to run on a database `migrate` has not
    brought up to this code (an upgrade without `migrate`): it would fail half-way with
    a traceback from the database driver, or not at all until a row needs a new column.
    Django's own check (`requires_migrations_checks`) only prints a notice and goes on."""

    requires_migrations_checks = True

    def check_migrations(self) -> None:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = [f"{m.app_label}.{m.name}" for m, _backwards in plan]
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            raise CommandError(
                f"the database lacks {len(names)} migration(s) this code needs ({shown}): "
                "run `python manage.py migrate` first"
            )


@contextmanager
def sigterm_sets(stop: threading.Event) -> Iterator[threading.Event]:
    """Within the block, SIGTERM (`kill`, `timeout`, systemd stopping the unit) sets
    `stop` instead of ending the process at once, which skips every `finally` (a
    sender's record of what the mail server took among them); the code in the block
    checks it between two safe steps. A second SIGTERM ends the process as usual."""

    def stop_soon(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop.set()

    try:
        previous = signal.signal(signal.SIGTERM, stop_soon)
    except ValueError:  # not the main thread (call_command from a thread): no handler
        yield stop
        return
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)
