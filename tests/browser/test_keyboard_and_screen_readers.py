"""The papers step and the preferences page as a keyboard and a screen reader use them:
after an answer, an undo or a keep swapped in place with htmx, focus lands on what changed
(not on the page's start); what follows the form as it is typed is announced in one line;
and every button is big enough to tap on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from subscriptions import tokens
from subscriptions.models import Feedback
from tests.browser.test_papers_step import PAPERS, add_papers
from tests.browser.test_reading import TWO_TOPICS, add_day
from tests.factories import give_feedback, make_subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def after_next_frame(page) -> None:
    """The browser focuses an [autofocus] put in by a swap at its next rendering too, as
    htmx did already; a key pressed before that would see its focus moved back."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_an_answer_and_its_undo_keep_focus_on_the_paper(page, browser_settings):
    add_papers()
    bob = make_subscriber("bob@example.org", keywords=["distillation"])
    token = tokens.make_token(bob, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)

    page.get_by_role("button", name="Not for me: Born Again Neural Networks").focus()
    page.keyboard.press("Enter")
    # The button pressed is gone; focus is on the Undo that took its place, whose name
    # says what was answered on which paper.
    undo = page.get_by_role(
        "button", name="Undo “Not for me”: Born Again Neural Networks", exact=True
    )
    expect(undo).to_be_focused()
    after_next_frame(page)

    page.keyboard.press("Enter")
    again = page.get_by_role("button", name="Yes, like this: Born Again Neural Networks")
    expect(again).to_be_focused()
    assert page.problems == [], page.problems


def test_a_kept_term_says_so_where_focus_lands(page, browser_settings):
    add_day()
    dana = make_subscriber("dana@example.org", description=TWO_TOPICS)
    token = tokens.make_token(dana, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/", timeout=60_000)  # the first ranking loads the encoder
    reading = page.locator("#description-reading")
    keep = reading.get_by_role("button", name="Keep as a keyword: knowledge distillation")
    keep.wait_for(timeout=60_000)

    keep.focus()
    page.keyboard.press("Enter")
    done = reading.get_by_role("status")
    expect(done).to_be_focused()
    expect(done).to_have_text("Kept “knowledge distillation”: it is now one of your keywords.")
    after_next_frame(page)
    page.keyboard.press("Tab")  # on through the reading, not from the top of the page
    expect(reading.locator("button:focus")).to_have_count(1)
    assert page.problems == [], page.problems


def test_the_reading_buttons_are_big_enough_to_tap_on_a_phone(page, browser_settings):
    add_day()
    dana = make_subscriber("dana@example.org", description=TWO_TOPICS, categories=["cs.CL"])
    token = tokens.make_token(dana, tokens.Purpose.PREFERENCES)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"/preferences/{token}/", timeout=60_000)
    buttons = page.locator("#description-reading button")
    buttons.first.wait_for(timeout=60_000)

    sizes = {b.get_attribute("aria-label"): b.bounding_box() for b in buttons.all()}
    # WCAG 2.5.8 (AA): a target at least 24 by 24 CSS pixels; keep and drop sit side by side.
    small = {name: box for name, box in sizes.items() if min(box["width"], box["height"]) < 24}
    assert sizes and not small, small


def test_the_preview_and_the_reading_announce_one_line_each_not_their_lists(page, browser_settings):
    add_day()
    dana = make_subscriber("dana@example.org", description=TWO_TOPICS)
    token = tokens.make_token(dana, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/", timeout=60_000)  # the first ranking loads the encoder
    preview_said = page.locator("#preview-status")
    reading_said = page.locator("#reading-status")
    expect(preview_said).to_have_text(re.compile(r"^Preview: \d+ papers?, first “.+”\.$"))
    expect(reading_said).to_have_text(re.compile(r"^Read as .+; matches \d+ of the \d+ papers\.$"))

    with page.expect_response(lambda r: r.url.endswith("/preview/")):
        page.get_by_label("Keywords and phrases").fill("zzzz")
    page.get_by_label("In a sentence").fill("")
    expect(preview_said).to_have_text("Preview: nothing matches yet.")
    # The lists themselves are no live regions: a screen reader would read them whole at
    # every pause in typing.
    assert page.locator("[aria-live]:has(li)").count() == 0
    assert page.problems == [], page.problems


def test_an_undo_in_the_feedback_list_keeps_what_is_typed_in_the_form(page, browser_settings):
    day = add_day()
    dana = make_subscriber("dana@example.org", description=TWO_TOPICS)
    give_feedback(dana, day[0], signal=-1)
    give_feedback(dana, day[1])
    token = tokens.make_token(dana, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/", timeout=60_000)  # the first ranking loads the encoder
    page.locator("#preview-status").get_by_text("Preview").wait_for(timeout=60_000)
    keywords = page.get_by_label("Keywords and phrases")
    with page.expect_response(lambda r: r.url.endswith("/preview/")):
        keywords.fill("parsing")  # typed, not saved

    page.get_by_role("button", name=f"Undo: {day[0].title_text}").focus()
    page.keyboard.press("Enter")

    done = page.locator("#feedback").get_by_role("status")
    expect(done).to_be_focused()
    expect(done).to_have_text(f"Undone: “{day[0].title_text}” counts for nothing now.")
    expect(page.get_by_role("button", name=f"Undo: {day[0].title_text}")).to_have_count(0)
    assert keywords.input_value() == "parsing"  # no reload: nothing typed is lost
    assert list(Feedback.objects.values_list("paper_id", flat=True)) == [day[1].pk]
    assert page.problems == [], page.problems


def test_the_ask_for_a_paper_they_like_comes_in_a_live_region_already_there(page, browser_settings):
    add_papers()
    bob = make_subscriber("bob@example.org", description="papers about proteins")
    token = tokens.make_token(bob, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)
    region = page.locator("#only-noes").element_handle()
    for _, title, _, _ in PAPERS:
        page.get_by_role("button", name=f"Not for me: {title}").click()
        page.locator("li.answered").filter(has_text=title).wait_for()
    page.get_by_text("None of these is what you mean?").wait_for()
    # A screen reader announces what changes inside a live region it already knows; one
    # put in afresh, even with the same role, it may never read.
    assert region.evaluate("e => e.isConnected && e.textContent.includes('None of these')")
    assert page.problems == [], page.problems


def test_pasted_papers_leave_focus_on_what_came_of_them(page, browser_settings):
    add_papers()
    bob = make_subscriber("bob@example.org", keywords=["distillation"])
    token = tokens.make_token(bob, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/papers/", timeout=60_000)
    box = page.get_by_label("Papers I like")

    box.fill("my favourite paper")
    box.press("Tab")
    page.keyboard.press("Enter")  # on "Add these papers"
    said = page.locator("#examples-result")
    expect(said).to_be_focused()
    expect(said).to_contain_text("Not an arXiv id or arXiv link: my, favourite, paper.")
    after_next_frame(page)
    page.keyboard.press("Tab")
    expect(box).to_be_focused()  # on to the box to mend what was pasted
    assert page.problems == [], page.problems
