"""Named subscribers and papers for the subscription flow tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from digest.models import Paper
from subscriptions import tasks as subscription_tasks
from subscriptions.models import Subscriber

from .helpers import make_paper, make_subscriber


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    # Rate limits count in the default cache; each test starts from zero.
    settings.RATELIMIT_ENABLE = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # Outside DEBUG the manifest storage wants `collectstatic` first; tests need no hashes.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False


@pytest.fixture
def alice(db) -> Subscriber:
    """Confirmed and active, reads cs.CL papers about parsing."""
    return make_subscriber("alice@example.org")


@pytest.fixture
def bob(db) -> Subscriber:
    """Signed up, never confirmed."""
    return make_subscriber("bob@example.org", Subscriber.Status.PENDING)


@pytest.fixture
def paper(db) -> Paper:
    return make_paper("2501.00001", "Parsing with <b>transformers</b>", upvotes=12)


@pytest.fixture
def papers(db) -> list[Paper]:
    today = timezone.localdate()
    return [
        make_paper("2501.00001", "Parsing with transformers", upvotes=12, announced_on=today),
        make_paper(
            "2501.00002",
            "Robot arms that fold laundry",
            categories=["cs.RO"],
            primary_category="cs.RO",
            abstract_text="We teach robot arms to fold laundry with diffusion policies.",
            upvotes=3,
            announced_on=today,
        ),
        make_paper(
            "2501.00003",
            "A survey of galaxy clusters",
            categories=["astro-ph.CO"],
            primary_category="astro-ph.CO",
            announced_on=today,
        ),
    ]


@pytest.fixture(autouse=True)
def _link_requests_run_inline(monkeypatch):
    """A Celery worker's part, done at once: these tests read the mail it sends.
    (test_request_link.py checks the view itself only enqueues.)"""
    task = subscription_tasks.subscriber_request_link
    monkeypatch.setattr(task, "delay_on_commit", lambda email: task(email))
