"""An operator who upgraded and forgot `migrate` gets one line that says so from every
command, not a traceback from deep in the database driver, nor a run on half a schema."""

from __future__ import annotations

import os

from django.core.management import get_commands, load_command_class

from digest.lib.commands import MigratedCommand
from tests.helpers.processes import manage

# Two of them in real processes (each costs a Django start-up); the others share the
# base class that refuses, which the last test holds.
COMMANDS = [
    ["send_digests"],
    ["ingest", "--url", "http://127.0.0.1:9/feed", "--kind", "arxiv-rss"],
]


def test_every_command_on_a_database_not_migrated_says_to_run_migrate(tmp_path):
    # Migrated by an older release: the deliveries' requeued_at, added since, is missing.
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}",
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    for args in (["migrate"], ["migrate", "digest", "0008"]):
        process = manage(env, *args, "--noinput")
        assert process.wait(timeout=120) == 0, process.communicate()[1]

    running = [(args, manage(env, *args)) for args in COMMANDS]
    for args, process in running:
        _out, err = process.communicate(timeout=120)
        assert (process.returncode, "Traceback" in err) == (1, False), (args, err)
        [line] = [line for line in err.splitlines() if line.startswith("CommandError")]
        assert "digest.0009_delivery_requeued_at" in line, args
        assert line.endswith("run `python manage.py migrate` first"), args


def test_every_command_of_ours_checks_the_migrations_first():
    ours = {
        name: load_command_class(app, name)
        for name, app in get_commands().items()
        if app.split(".")[0] in ("digest", "subscriptions")
    }
    assert {"send_digests", "ingest", "load_snapshot", "cockpit_rollup"} <= set(ours)
    assert {n: isinstance(c, MigratedCommand) for n, c in ours.items()} == dict.fromkeys(ours, True)
