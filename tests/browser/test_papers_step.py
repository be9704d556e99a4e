"""The papers step in a real browser: answers in place with htmx, pasted examples, undo."""

from __future__ import annotations

import re

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
    # The paste answered in place of its form: the section's heading is still there.
    assert page.get_by_role("heading", name="Papers you already know you like").is_visible()
    shoot(page, "papers-step-answered")

    page.goto(f"/preferences/{token}/#feedback")
    feedback = page.locator("#feedback")
    assert feedback.get_by_text("Distilling Step by Step").is_visible()
    feedback.get_by_role("button", name="Undo: Born Again Neural Networks").click()
    feedback.get_by_text("Undone: “Born Again Neural Networks”").wait_for()  # in place
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


def test_four_noes_without_a_description_ask_for_one_on_the_preferences(page, browser_settings):
    add_papers()
    erin = make_subscriber("erin@example.org", keywords=["proteins"])
    token = tokens.make_token(erin, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)
    for _, title, _, _ in PAPERS:
        page.get_by_role("button", name=f"Not for me: {title}").click()
        page.locator("li.answered").filter(has_text=title).wait_for()
    page.get_by_text("None of these is what you mean?").wait_for()
    assert page.get_by_role("link", name="how we read your description").count() == 0

    page.get_by_role("link", name="say in a sentence what you want to read").click()

    page.wait_for_url(f"**/preferences/{token}/#id_description")
    assert page.get_by_label("In a sentence, what do you want to read about?").is_visible()
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


def test_once_every_paper_is_answered_the_next_ten_are_one_click_away(page, browser_settings):
    add_papers()
    for n in range(8):
        Paper.objects.create(
            arxiv_id=f"2501.001{n:02d}", title=f"Distillation study {n}",
            title_text=f"Distillation study {n}", abstract_text="Knowledge distillation.",
            authors=["Ada Lovelace"], categories=["cs.LG"], primary_category="cs.LG",
            announced_on=timezone.localdate(), upvotes=n,
        )  # fmt: skip
    erin = make_subscriber("erin@example.org", keywords=["distillation"])
    token = tokens.make_token(erin, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)
    more = page.get_by_role("link", name="Show ten more, picked with your answers")
    waiting = page.locator("li.answer:not(.answered)")
    assert waiting.count() == 10
    while waiting.count():
        assert not more.is_visible()  # papers left to answer on this page
        left = waiting.count()
        waiting.first.get_by_role("button", name=re.compile("^Not for me")).click()
        waiting.nth(left - 1).wait_for(state="detached")  # answered in place
    more.wait_for()
    shoot(page, "papers-step-all-answered")
    more.click()
    page.wait_for_load_state()
    assert waiting.count() == 2  # the two papers not answered yet
    assert not more.is_visible()
    assert Feedback.objects.filter(subscriber=erin).count() == 10
    assert page.problems == [], page.problems


def test_undo_answers_in_place_and_stays_in_the_papers_step(page, browser_settings):
    add_papers()
    bob = make_subscriber("bob@example.org", description="papers about proteins")
    token = tokens.make_token(bob, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)
    for _, title, _, _ in PAPERS:
        page.get_by_role("button", name=f"Not for me: {title}").click()
        page.locator("li.answered").filter(has_text=title).wait_for()
    hint = page.get_by_text("None of these is what you mean?")
    hint.wait_for()

    born_again = page.locator("li.answered").filter(has_text="Born Again Neural Networks")
    born_again.get_by_role("button", name="Undo").click()
    # The paper is offered again in its place, to answer otherwise; still the papers step.
    page.get_by_role("button", name="Yes, like this: Born Again Neural Networks").wait_for()
    assert page.url.endswith(f"/preferences/{token}/papers/")
    assert Feedback.objects.filter(subscriber=bob).count() == 3
    hint.wait_for(state="hidden")  # three noes are no longer "only noes" enough
    page.get_by_role("button", name="Yes, like this: Born Again Neural Networks").click()
    page.locator("li.answered").filter(has_text="Born Again Neural Networks").wait_for()
    assert Feedback.objects.get(subscriber=bob, paper__arxiv_id="2501.00011").signal == 1
    assert page.problems == [], page.problems


def previewed(response) -> bool:
    return response.url.endswith("/preview/")


def test_answers_on_the_preferences_page_show_in_its_feedback_and_reading(page, browser_settings):
    add_papers()
    dora = make_subscriber("dora@example.org", description="smaller models that copy bigger ones")
    token = tokens.make_token(dora, tokens.Purpose.PREFERENCES)
    with page.expect_response(previewed, timeout=60_000):  # the first ranking loads the encoder
        page.goto(f"/preferences/{token}/", timeout=60_000)
    feedback = page.locator("#feedback")
    assert feedback.get_by_text("None yet.").is_visible()
    papers = page.locator("#papers")
    papers.scroll_into_view_if_needed()
    answers = [
        ("Yes, like this", "Born Again Neural Networks"),
        ("Yes, like this", "Relational Knowledge Distillation"),
        ("Not for me", "Robot arms that fold laundry"),
    ]
    for answer, title in answers:
        # Each answer refreshes the preview; wait for it, so that none is cut short.
        with page.expect_response(previewed):
            papers.get_by_role("button", name=f"{answer}: {title}").click()
        papers.locator("li.answered").filter(has_text=title).wait_for()
        feedback.get_by_role("link", name=title).wait_for()  # listed, no reload
    assert not feedback.get_by_text("None yet.").count()
    # What the two "yes" papers share, offered in the reading under the description.
    reading = page.locator("#description-reading")
    reading.get_by_text("Your “yes” papers share:", exact=True).wait_for()

    with page.expect_response(previewed):
        papers.locator("li.answered").filter(has_text="Robot arms").get_by_role(
            "button", name="Undo"
        ).click()
    papers.get_by_role("button", name="Not for me: Robot arms that fold laundry").wait_for()
    feedback.get_by_role("link", name="Robot arms that fold laundry").wait_for(state="detached")
    assert page.url.endswith(f"/preferences/{token}/")
    assert Feedback.objects.filter(subscriber=dora).count() == 2
    assert page.problems == [], page.problems  # no out-of-band part without its place
