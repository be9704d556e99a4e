"""Each admin list reads a bounded number of queries whatever its size (1,000 rows here):
no query per row, no count of a whole table twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from digest.models import Delivery, DeliveryItem, FetchRun, Paper, Source
from subscriptions.models import Feedback, Interest, Learner, Subscriber

pytestmark = pytest.mark.django_db

ROWS = 1000
# Session, user, the page's rows, its count, filters' choices, the actions' permission
# checks: what a list costs at any size. A query per row would be over a thousand.
MAX_QUERIES = 12


@pytest.fixture
def thousand_of_each(db):
    Source.objects.all().delete()
    day = date(2026, 11, 23)
    papers = Paper.objects.bulk_create(
        Paper(
            arxiv_id=f"2611.{n:05d}",
            title=f"Paper number {n}",
            title_text=f"Paper number {n}",
            authors=["Ada Lovelace", "Alan Turing"],
            categories=["cs.LG", "stat.ML"],
            primary_category="cs.LG",
            announced_on=day - timedelta(days=n % 30),
            upvotes=n % 7,
        )
        for n in range(ROWS)
    )
    sources = Source.objects.bulk_create(
        Source(name=f"source {n}", kind="arxiv-rss", url=f"https://a.test/{n}") for n in range(ROWS)
    )
    FetchRun.objects.bulk_create(
        FetchRun(source=s, kind=s.kind, url=s.url, status="ok", new_count=3) for s in sources
    )
    people = Subscriber.objects.bulk_create(
        Subscriber(email=f"person{n}@example.org", status="active") for n in range(ROWS)
    )
    Interest.objects.bulk_create(Interest(subscriber=p, keywords=["x"]) for p in people)
    deliveries = Delivery.objects.bulk_create(
        Delivery(subscriber=p, digest_date=day, status="sent") for p in people
    )
    DeliveryItem.objects.bulk_create(
        DeliveryItem(delivery=d, paper=papers[n], rank=1) for n, d in enumerate(deliveries)
    )
    Feedback.objects.bulk_create(
        Feedback(subscriber=p, paper=papers[n], signal=1) for n, p in enumerate(people)
    )
    Learner.objects.bulk_create(
        Learner(subscriber=p, weights=bytes(770), model="m", signature="s", liked=1) for p in people
    )
    return {"paper": papers[0], "subscriber": people[0], "delivery": deliveries[0]}


LISTS = [
    "digest_paper",
    "digest_source",
    "digest_fetchrun",
    "digest_delivery",
    "subscriptions_subscriber",
    "subscriptions_feedback",
]


@pytest.mark.parametrize("name", LISTS)
def test_each_list_page_is_bounded(
    admin_client, thousand_of_each, name, django_assert_max_num_queries
):
    url = reverse(f"admin:{name}_changelist")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = admin_client.get(url)
    assert response.status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        assert admin_client.get(url, {"p": "3"}).status_code == 200


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("digest_paper", "paper"),
        ("subscriptions_subscriber", "subscriber"),
        ("digest_delivery", "delivery"),
    ],
)
def test_change_pages_are_bounded(
    admin_client, thousand_of_each, name, row, django_assert_max_num_queries
):
    url = reverse(f"admin:{name}_change", args=[thousand_of_each[row].pk])
    with django_assert_max_num_queries(MAX_QUERIES + 4):
        assert admin_client.get(url).status_code == 200


def test_a_keen_subscribers_page_reads_their_answers_in_one_query(
    admin_client, thousand_of_each, django_assert_max_num_queries
):
    keen = thousand_of_each["subscriber"]
    Feedback.objects.bulk_create(
        Feedback(subscriber=keen, paper=paper, signal=-1)
        for paper in Paper.objects.exclude(feedback__subscriber=keen)[:199]
    )
    url = reverse("admin:subscriptions_subscriber_change", args=[keen.pk])
    with django_assert_max_num_queries(MAX_QUERIES + 4):
        response = admin_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    answered = Feedback.objects.filter(subscriber=keen).values_list("paper__arxiv_id", flat=True)
    assert len(answered) == 200
    assert all(arxiv_id in page for arxiv_id in answered)
