"""The staff console in a real browser: every page staff use loads with no error, no
missing file (the favicon included), and is photographed at desktop and phone width."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from digest.models import Delivery, DeliveryItem, FetchRun, Source, UpvoteSnapshot
from subscriptions.models import Feedback, Learner, Subscriber
from tests.factories import make_paper, make_subscriber
from tests.helpers.screenshots import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_TITLE = (
    "Scaling Laws for Knowledge Distillation of Small Language Models under a Fixed "
    "Compute Budget, with Ablations"
)


@pytest.fixture
def console_data():
    Source.objects.all().delete()
    today = timezone.localdate()
    arxiv = Source.objects.create(
        name="arXiv cs.CL", kind="arxiv-rss", url="https://rss.arxiv.org/rss/cs.CL"
    )
    hf = Source.objects.create(
        name="HF Daily Papers", kind="hf-daily", url="https://huggingface.co/api/daily_papers"
    )
    FetchRun.objects.create(
        source=arxiv, kind=arxiv.kind, url=arxiv.url, status="ok", new_count=212, http_status=200
    )
    for _ in range(3):
        FetchRun.objects.create(
            source=hf,
            kind=hf.kind,
            url=hf.url,
            status="failed",
            error="temporary: HTTP 503 from huggingface.co",
        )
    papers = [
        make_paper(
            LONG_TITLE if n == 0 else f"Paper {n}: graph neural networks for molecules",
            categories=("cs.CL", "cs.LG", "stat.ML"),
            upvotes=40 - n,
            authors=("Ada Lovelace", "Alan Turing", "Grace Hopper"),
            published_at=timezone.now() - timedelta(days=3000),
        )
        for n in range(12)
    ]
    UpvoteSnapshot.objects.create(paper=papers[0], upvotes=3)
    UpvoteSnapshot.objects.create(paper=papers[0], upvotes=40)
    people = [
        make_subscriber(
            f"reader{n}@example.org",
            keywords=["distillation", "graph neural networks", "-survey"],
            categories=("cs.CL", "cs.LG"),
            authors=("Yoshua Bengio",),
            frequency="weekly" if n % 3 == 0 else "daily",
            weekday=n % 7,
            send_hour=7 + n % 5,
            time_zone="Europe/Berlin",
        )
        for n in range(8)
    ]
    Subscriber.objects.filter(pk=people[1].pk).update(
        status="bounced", suppressed_reason="ses: bounced"
    )
    for n, person in enumerate(people):
        delivery = Delivery.objects.create(
            subscriber=person,
            digest_date=today,
            status=["sent", "empty", "failed"][n % 3],
            attempts=1,
        )
        DeliveryItem.objects.create(
            delivery=delivery, paper=papers[n], rank=1, reason="matches distillation"
        )
        Feedback.objects.create(subscriber=person, paper=papers[n], signal=1 if n % 2 else -1)
    Feedback.objects.create(subscriber=people[0], paper=papers[9], signal=1)
    Learner.objects.create(
        subscriber=people[0],
        weights=bytes(770),
        model="all-MiniLM-L6-v2-int8/title+abstract60",
        signature="5e1f0c3a9b7d" * 5,
        liked=1,
        disliked=1,
    )
    User.objects.create_superuser("operator", "op@example.org", "a-long-password-1")
    return {"paper": papers[0], "subscriber": people[0], "delivery": Delivery.objects.first()}


PAGES = [
    ("cockpit", "/admin/cockpit/"),
    ("papers", "/admin/digest/paper/"),
    ("subscribers", "/admin/subscriptions/subscriber/"),
    ("sources", "/admin/digest/source/"),
    ("deliveries", "/admin/digest/delivery/"),
]


def test_every_console_page_loads_cleanly_and_is_photographed(page, browser_settings, console_data):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto("/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert "Paperboy" in page.title()
    shoot(page, "admin-index")

    paper, subscriber = console_data["paper"], console_data["subscriber"]
    pages = [
        *PAGES,
        ("paper", f"/admin/digest/paper/{paper.pk}/change/"),
        ("subscriber", f"/admin/subscriptions/subscriber/{subscriber.pk}/change/"),
    ]
    for name, url in pages:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        shoot(page, f"admin-{name}")

    assert failed == []
    assert page.problems == []


def test_keyword_chips_follow_what_staff_type(page, browser_settings, console_data):
    page.goto("/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "a-long-password-1")
    page.click("input[type=submit]")
    page.goto(f"/admin/subscriptions/subscriber/{console_data['subscriber'].pk}/change/")
    field = page.locator("#id_interest-0-keywords")
    field.fill('transformers "state space models" -survey')
    chips = page.locator("[data-chips-for=id_interest-0-keywords] .badge").all_inner_texts()
    assert chips == ["transformers", "state space models", "-survey"]
