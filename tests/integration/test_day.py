"""A full day on production infrastructure: PostgreSQL, Redis, Celery workers, SMTP.

The morning (migrations, today's feeds pulled with `manage.py ingest` from a local HTTP
server, 2,000 readers) is built once per session in conftest.py; each test starts from a
copy of that database and sends the day.

Run with: .venv/bin/python -m pytest tests/integration -q -m integration
"""

from __future__ import annotations

import threading

import pytest

from .day import READERS, assert_one_digest_each, wait_until_delivered
from .deployment import send_task

pytestmark = pytest.mark.integration


def test_every_reader_gets_exactly_one_digest_when_two_ticks_race(
    deployment, smtp_sink, redis_server
):
    deployment.start_worker("alpha", concurrency=2)

    # Two ticks at the same moment, as two beats would send them: both plan the day and
    # both queue every chunk, and the conditional claim sends each digest once.
    ticks = [
        threading.Thread(target=send_task, args=(redis_server.url, "digest.tasks.tick"))
        for _ in range(2)
    ]
    for tick in ticks:
        tick.start()
    for tick in ticks:
        tick.join()

    wait_until_delivered(deployment, smtp_sink, redis_server, READERS, timeout=180)
    assert_one_digest_each(deployment, smtp_sink)
