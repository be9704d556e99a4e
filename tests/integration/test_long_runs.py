"""Exactly one digest on PostgreSQL when every chunk outlasts the lease and three kinds of
sender race for the day: beat's tick with a send worker, and `send_digests --all`."""

from __future__ import annotations

import subprocess

import pytest

from .day import READERS, assert_one_digest_each, wait_until_delivered
from .deployment import PYTHON
from .servers import ROOT

pytestmark = pytest.mark.integration


def test_senders_of_every_kind_racing_with_a_short_lease_double_nothing(
    deployment, smtp_sink, redis_server
):
    # Chunks of 200 at a slow server take several times the 2 s lease: only its renewal
    # keeps a live sender's rows from the others.
    deployment.extra_env.update({"DELIVERY_LEASE_SECONDS": "2", "DELIVERY_CHUNK_SIZE": "200"})
    smtp_sink.delay = 0.01
    deployment.schedule_tick_every(2)
    deployment.start_worker("sender", concurrency=2)
    deployment.start_beat("beat")
    command = subprocess.Popen(
        [PYTHON, "manage.py", "send_digests", "--all"],
        cwd=ROOT,
        env=deployment.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    wait_until_delivered(deployment, smtp_sink, redis_server, READERS, timeout=400)
    out, err = command.communicate(timeout=400)

    assert command.returncode == 0, err[-3000:]
    assert_one_digest_each(deployment, smtp_sink)
    by_command = int(out.split("sent ", 1)[1].split(",", 1)[0])
    assert 0 < by_command < READERS, out  # both kinds of sender took a share
