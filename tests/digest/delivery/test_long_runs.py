"""Exactly one digest when a run outlasts the lease: claims are stamped when they are
made and renewed while a chunk is being sent, so a second sender (a command, beat's tick,
another worker) only ever takes rows nobody holds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from tests.helpers.processes import finish, manage

READERS = 20

SEED = """
from tests.factories import make_paper, make_subscriber
for title in ["Knowledge distillation for small language models",
              "Distillation of diffusion samplers", "Distilled reward models"]:
    make_paper(title, categories=("cs.LG",))
for n in range({count}):
    make_subscriber(f"reader{{n}}@example.org", keywords=["distillation"])
"""

REPORT = """
from collections import Counter
from digest.models import Delivery
print(dict(Counter(Delivery.objects.values_list("status", flat=True))))
"""


def _wait_for(condition, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Polls for an event, not a duration: the test asserts on order, never on speed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            return  # finished (or failed: _finish says why)
        assert time.monotonic() < deadline, "the first sender never got going"
        time.sleep(0.05)


@pytest.mark.integration  # real sender processes racing for tens of seconds
@pytest.mark.parametrize("chunk_size", [1, READERS])
def test_a_second_sender_during_a_run_longer_than_the_lease_doubles_nothing(
    smtp_server,
    tmp_path,
    chunk_size,
):
    """The report's reproduction, with real processes on one SQLite file: a lease far
    shorter than the run (the server takes each message slowly), and a second
    `send_digests --all` started once the first has sent a few. Chunks of one test the
    claim's stamp; one chunk of everybody, longer than the lease, tests its renewal.
    Then a third run, as the next tick would be: every reader has exactly one digest,
    every row says sent, none is lost."""
    smtp_server.delay = 0.4
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'long.sqlite3'}",
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "DELIVERY_CHUNK_SIZE": str(chunk_size),
        "DELIVERY_LEASE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    finish(manage(env, "migrate", "--noinput"))
    finish(manage(env, "shell", "-c", SEED.format(count=READERS)))

    first = manage(env, "send_digests", "--all")
    _wait_for(lambda: len(smtp_server.received) >= 3, first)
    second = manage(env, "send_digests", "--all")
    outputs = [finish(first), finish(second)]
    outputs.append(finish(manage(env, "send_digests", "--all")))

    copies = Counter(smtp_server.recipients)
    assert copies == {f"reader{n}@example.org": 1 for n in range(READERS)}, outputs
    statuses = finish(manage(env, "shell", "-c", REPORT)).strip().splitlines()[-1]
    assert statuses == str({"sent": READERS}), outputs


@pytest.mark.integration  # real processes, a few seconds each
def test_send_digests_stopped_with_sigterm_records_what_went_out(smtp_server, tmp_path):
    """`kill`, `timeout` or systemd stopping a `send_digests` mid-run: the digests the
    server took are recorded as sent before it exits (they were left claimed, and the
    next run after the lease sent them again), the others are given back, and the next
    run sends each of those once."""
    smtp_server.delay = 0.2
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'stopped.sqlite3'}",
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "DELIVERY_LEASE_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    finish(manage(env, "migrate", "--noinput"))
    finish(manage(env, "shell", "-c", SEED.format(count=READERS)))

    first = manage(env, "send_digests", "--all")
    _wait_for(lambda: len(smtp_server.received) >= 3, first)
    first.send_signal(signal.SIGTERM)
    _out, err = first.communicate(timeout=60)
    assert first.returncode != 0 and "Traceback" not in err, err
    time.sleep(1.5)  # the lease of anything left claimed runs out
    finish(manage(env, "send_digests", "--all"))

    copies = Counter(smtp_server.recipients)
    assert copies == {f"reader{n}@example.org": 1 for n in range(READERS)}
    statuses = finish(manage(env, "shell", "-c", REPORT)).strip().splitlines()[-1]
    assert statuses == str({"sent": READERS})
