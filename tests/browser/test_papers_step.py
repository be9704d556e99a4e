"""The papers step in a real browser: answers in place with htmx, pasted examples, undo."""

from __future__ import annotations

import pytest
from django.utils import timezone

from digest.models import Paper
from subscriptions import tokens
from subscriptions.models import Feedback, Interest
from tests.factories import make_subscriber
from tests.helpers.screenshots import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAPERS = [
    ("2501.00011", "Born Again Neural Networks", "A student trained on its teacher's outputs.", 40),
    ("2501.00012", "Relational Knowledge Distillation", "Relations taught to a student.", 12),
    ("2501.00013", "Distilling Step by Step", "Small models distilled from LLMs.", 8),
    ("2501.00014", "Robot arms that fold laundry", "Folding laundry with two arms.", 5),
]


def add_papers() -> None:
    for arxiv_id, title, abstract, upvotes in PAPERS:
        Paper.objects.create(
            arxiv_id=arxiv_id, title=title, title_text=title, abstract_text=abstract,
            authors=["Ada Lovelace"], categories=["cs.LG"], primary_category="cs.LG",
            announced_on=timezone.localdate(), upvotes=upvotes,
        )  # fmt: skip


def test_answers_come_back_in_place_and_are_listed_for_undo(page, browser_settings):
    add_papers()
    alice = make_subscriber("alice@example.org", keywords=["distillation"])
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    page.goto(
        f"/preferences/{token}/papers/", timeout=60_000
    )  # the first ranking loads the encoder
    assert page.get_by_text("Relational Knowledge Distillation").is_visible()
    shoot(page, "papers-step")

    page.get_by_role("button", name="Yes, like this: Born Again Neural Networks").click()
    answered = page.locator("li.answered")
    answered.get_by_role("button", name="Undo").wait_for()
    assert Feedback.objects.get(subscriber=alice).signal == 1

    page.get_by_label("Papers I like").fill("my favourite paper")
    page.get_by_role("button", name="Add these papers").click()
    page.get_by_text("Not an arXiv id or arXiv link").wait_for()
    page.get_by_label("Papers I like").fill("https://arxiv.org/abs/2501.00013v2")
    page.get_by_role("button", name="Add these papers").click()
    page.get_by_text("Noted as papers you like").wait_for()
    shoot(page, "papers-step-answered")

    page.goto(f"/preferences/{token}/#feedback")
    feedback = page.locator("#feedback")
    assert feedback.get_by_text("Distilling Step by Step").is_visible()
    feedback.get_by_role("button", name="Undo: Born Again Neural Networks").click()
    page.wait_for_url(f"**/preferences/{token}/#feedback")
    assert list(Feedback.objects.values_list("paper__arxiv_id", flat=True)) == ["2501.00013"]
    assert page.problems == []


def test_four_noes_in_place_bring_the_ask_for_a_paper_they_like(page, browser_settings):
    add_papers()
    bob = make_subscriber("bob@example.org", description="papers about proteins")
    token = tokens.make_token(bob, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)
    hint = page.get_by_text("None of these is what you mean?")
    for _, title, _, _ in PAPERS:
        assert not hint.is_visible()
        page.get_by_role("button", name=f"Not for me: {title}").click()
        page.locator("li.answered").filter(has_text=title).wait_for()
    hint.wait_for()  # swapped in out of band with the fourth answer, no reload
    shoot(page, "papers-step-only-noes")
    page.get_by_role("link", name="paste one below").click()
    assert page.url.endswith("#examples")
    assert page.problems == []


def test_two_yes_answers_in_place_bring_the_terms_they_share_to_keep(page, browser_settings):
    add_papers()
    dora = make_subscriber("dora@example.org", description="smaller models that copy bigger ones")
    token = tokens.make_token(dora, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)
    shared = page.get_by_text("Your “yes” papers share:", exact=True)
    for title in ("Born Again Neural Networks", "Relational Knowledge Distillation"):
        assert not shared.is_visible()
        page.get_by_role("button", name=f"Yes, like this: {title}").click()
        page.locator("li.answered").filter(has_text=title).wait_for()
    shared.wait_for()  # swapped in out of band with the second "yes", no reload
    shoot(page, "papers-step-shared-terms")
    page.get_by_role("button", name="Keep as a keyword: student").click()
    page.wait_for_url(f"**/preferences/{token}/papers/")
    assert Interest.objects.get(subscriber=dora).keywords == ["student"]
    assert page.problems == []
