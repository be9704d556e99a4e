"""A paper pasted while arXiv is away is not lost: the page leaves it to a task, and an
ingest worker on production infrastructure (Redis, PostgreSQL) records it once arXiv
answers."""

from __future__ import annotations

import pytest

from .servers import free_port, wait_for

pytestmark = pytest.mark.integration

API_PAGE = "arxiv-api-query-atom_all-science_2019-08-10_first3entries.xml"
LIKED = """
select count(*) from subscriptions_feedback f
join digest_paper p on p.id = f.paper_id
where p.arxiv_id = %s and f.signal = 1
"""


def test_a_paper_pasted_while_arxiv_is_away_is_liked_once_a_worker_gets_it(deployment, feed_server):
    deployment.extra_env["ARXIV_API_URL"] = f"http://127.0.0.1:{free_port()}/api/query"
    deployment.shell(
        """
from subscriptions.examples import examples_add
from subscriptions.models import Subscriber
reader = Subscriber.objects.order_by("pk").first()
result = examples_add(reader, "1501.05039")
assert result.pending == ["1501.05039"] and not result.liked, result
"""
    )
    assert deployment.query(LIKED, "1501.05039") == [(0,)]

    deployment.extra_env["ARXIV_API_URL"] = feed_server.url(API_PAGE)  # arXiv is back
    puller = deployment.start_worker("puller", queues=("celery", "ingest"), concurrency=1)
    wait_for(
        lambda: deployment.query(LIKED, "1501.05039") == [(1,)],
        120,
        f"the pasted paper liked by the ingest worker ({puller.log_path})",
    )
    deployment.check_no_task_failed()
