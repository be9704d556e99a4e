"""Queues and scale-out: two send workers share the day, ingestion keeps its own queue,
and a second beat (a misconfiguration) sends nothing twice."""

from __future__ import annotations

import pytest

from .day import READERS, assert_one_digest_each, wait_until_delivered
from .servers import wait_for

pytestmark = pytest.mark.integration


def test_two_send_workers_share_the_day_and_a_second_beat_doubles_nothing(
    deployment, smtp_sink, redis_server, feed_server
):
    deployment.schedule_tick_every(10)

    control = deployment.start_worker("control", queues=("celery", "ingest"), concurrency=1)
    senders = [
        deployment.start_worker(name, queues=("send",), concurrency=1)
        for name in ("sender-a", "sender-b")
    ]
    # Two beats: deploy/README.md says run exactly one; a second must be harmless.
    deployment.start_beat("beat-1")
    deployment.start_beat("beat-2")

    wait_until_delivered(deployment, smtp_sink, redis_server, READERS, timeout=240)
    assert_one_digest_each(deployment, smtp_sink)

    # The work spread over both send workers, and each chunk went to one of them only.
    sent = {worker.name: worker.sent() for worker in senders}
    assert sum(sent.values()) == READERS
    assert all(count > 0 for count in sent.values()), sent
    for worker in senders:
        names = {r["task_name"] for r in worker.finished_chunks()}
        assert names == {"digest.tasks.send_chunk"}
        assert {r["worker"].split("@")[0] for r in worker.finished_chunks()} == {worker.name}
    control_tasks = {r.get("task_name") for r in control.records() if r.get("task_name")}
    assert control_tasks == {"digest.tasks.tick"}

    # Ingestion is routed to the "ingest" queue by the settings, not by the caller.
    deployment.shell(
        f"""
from digest.models import Source
Source.objects.update(enabled=False)
Source.objects.create(name="local cs.LG", kind="arxiv-rss",
                      url={feed_server.url("rss-cs.LG.xml")!r})
from digest.tasks import ingest_all
ingest_all.delay()
"""
    )
    wait_for(
        lambda: any(
            r.get("message") == "task finished" and r.get("task_name") == "digest.tasks.ingest_all"
            for r in control.records()
        ),
        60,
        "ingest_all to run on the control worker",
    )
    run_id = deployment.query("SELECT max(id) FROM digest_fetchrun WHERE source_id IS NOT NULL")
    logged = {r.get("fetch_run_id") for r in control.records() if r.get("fetch_run_id")}
    assert run_id[0][0] in logged
    for worker in senders:
        assert all(r.get("task_name") != "digest.tasks.ingest_all" for r in worker.records())
