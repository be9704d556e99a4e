"""What the management commands of ours share: they run only on a migrated database;
a long one can turn SIGTERM into an orderly stop."""

from __future__ import annotations

import signal
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


class Terminated(SystemExit):
    """SIGTERM arrived (`kill`, `timeout`, systemd stopping the unit): a SystemExit, so no
    `except Exception` swallows it, and every `finally` on the way out runs."""


@contextmanager
def sigterm_stops_in_order() -> Iterator[None]:
    """Within the block SIGTERM raises `Terminated` where the main thread is, instead of
    Python's default, which ends the process at once and skips every `finally` (a
    sender's record of what the mail server took among them). A second SIGTERM is
    ignored while that cleanup runs; SIGKILL still ends it."""

    def stop(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (call_command from a thread): no handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
