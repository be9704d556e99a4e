"""Learners on production infrastructure: answers of many subscribers, recorded through the
services as the pages record them, are refitted together by one task on a real send worker
through Redis and PostgreSQL."""

from __future__ import annotations

import pytest

from .servers import wait_for

pytestmark = pytest.mark.integration

READERS_ANSWERING = 5


def test_answers_of_several_subscribers_are_refitted_by_one_task_on_a_send_worker(deployment):
    deployment.extra_env["LEARNER_REFIT_DELAY"] = "2"
    sender = deployment.start_worker("sender", queues=("send",), concurrency=1)

    deployment.shell(
        f"""
from digest.models import Paper
from subscriptions import services
from subscriptions.models import Subscriber
papers = list(Paper.objects.order_by("-id").values_list("arxiv_id", flat=True)[:4])
for reader in Subscriber.objects.order_by("pk")[:{READERS_ANSWERING}]:
    services.feedback_record(reader, papers[0], 1)
    services.feedback_record(reader, papers[1], 1)
    services.feedback_record(reader, papers[2], -1)
"""
    )
    assert deployment.query("select count(*) from subscriptions_refitrequest") == [
        (READERS_ANSWERING,)
    ]

    wait_for(
        lambda: (
            deployment.query("select count(*) from subscriptions_learner") == [(READERS_ANSWERING,)]
        ),
        180,
        f"{READERS_ANSWERING} learners fitted on the send worker ({sender.log_path})",
    )

    def finished_refits() -> list[tuple[str, object]]:
        return [
            (r["task_name"], r.get("result"))
            for r in sender.records()
            if r.get("message") == "task finished" and "refit" in str(r.get("task_name"))
        ]

    # The learners are committed before the worker logs the task as finished.
    wait_for(finished_refits, 30, f"the refit task logged as finished ({sender.log_path})")
    assert finished_refits() == [("digest.tasks.refit_requested_learners", READERS_ANSWERING)]
    assert deployment.query(
        "select count(*) from subscriptions_learner where liked = 2 and disliked = 1"
    ) == [(READERS_ANSWERING,)]
    assert deployment.query("select count(*) from subscriptions_refitrequest") == [(0,)]
    deployment.check_no_task_failed()
