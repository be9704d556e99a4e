"""What every management command of ours shares: it runs only on a migrated database."""

from __future__ import annotations

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
