"""Named subscribers and papers for the subscription flow tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from digest.models import Paper
from subscriptions import tasks as subscription_tasks
from subscriptions.models import Subscriber
from tests.factories import make_paper, make_subscriber


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    # Rate limits count in the default cache; each test starts from zero.
    settings.RATELIMIT_ENABLE = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False


@pytest.fixture
def alice(db) -> Subscriber:
    """Confirmed and active, reads cs.CL papers about parsing."""
    return make_subscriber("alice@example.org", categories=["cs.CL"], keywords=["parsing"])


@pytest.fixture
def bob(db) -> Subscriber:
    """Signed up, never confirmed."""
    return make_subscriber(
        "bob@example.org",
        status=Subscriber.Status.PENDING,
        categories=["cs.CL"],
        keywords=["parsing"],
    )


@pytest.fixture
def paper(db) -> Paper:
    return make_paper(
        "Parsing with <b>transformers</b>", arxiv_id="2501.00001", categories=["cs.CL"], upvotes=12
    )


@pytest.fixture
def papers(db) -> list[Paper]:
    today = timezone.localdate()
    return [
        make_paper(
            "Parsing with transformers",
            arxiv_id="2501.00001",
            categories=["cs.CL"],
            upvotes=12,
            announced_on=today,
        ),
        make_paper(
            "Robot arms that fold laundry",
            "We teach robot arms to fold laundry with diffusion policies.",
            arxiv_id="2501.00002",
            categories=["cs.RO"],
            upvotes=3,
            announced_on=today,
        ),
        make_paper(
            "A survey of galaxy clusters",
            arxiv_id="2501.00003",
            categories=["astro-ph.CO"],
            announced_on=today,
        ),
    ]


@pytest.fixture(autouse=True)
def _link_requests_run_inline(monkeypatch):
    """A Celery worker's part, done at once: these tests read the mail it sends.
    (test_request_link.py checks the view itself only enqueues.)"""
    task = subscription_tasks.subscriber_request_link
    monkeypatch.setattr(task, "delay_on_commit", lambda email: task(email))
