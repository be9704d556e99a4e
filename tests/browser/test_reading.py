"""The reading of a description in a real browser: under the description field, terms to
keep or drop in place with htmx, and the same with JavaScript off through plain forms."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from digest.models import Paper
from subscriptions import services, tokens
from subscriptions.models import Interest
from tests.digest.ranking.test_ranking import POOL
from tests.factories import make_paper, make_subscriber
from tests.helpers.screenshots import SCREENSHOTS, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TWO_TOPICS = "knowledge distillation and speech recognition"
SPEECH_PAPER = "Speech Recognition for Low-Resource Languages"


def add_day() -> list[Paper]:
    return [make_paper(p.title, p.abstract, categories=p.categories) for p in POOL]


def keep_copy(name: str) -> None:
    """The desktop screenshot also in /tmp, where people reviewing this change look."""
    shutil.copy(SCREENSHOTS / f"{name}-desktop.png", Path("/tmp") / f"{name}.png")


def previewed(response) -> bool:
    return response.url.endswith("/preview/")


def read(response) -> bool:
    return response.url.endswith("/reading/")


def test_keep_and_drop_answer_in_place_and_the_form_keeps_a_kept_term(page, browser_settings):
    add_day()
    dana = make_subscriber("dana@example.org", description=TWO_TOPICS)
    token = tokens.make_token(dana, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/", timeout=60_000)  # the first ranking loads the encoder
    reading = page.locator("#description-reading")
    reading.get_by_text("Read as:").wait_for(timeout=60_000)
    assert reading.get_by_role("button", name="Drop: speech recognition").is_visible()
    page.locator("#preview").get_by_text(SPEECH_PAPER).wait_for(timeout=60_000)
    reading.scroll_into_view_if_needed()
    shoot(page, "reading")
    keep_copy("reading")
    reading.screenshot(path="/tmp/reading-chips.png")

    # Each change refreshes the preview; a newer refresh aborts one still running (which
    # htmx logs as a console error), so each step waits for its refresh to come back.
    keywords = page.get_by_label("Keywords and phrases")
    with page.expect_response(previewed):
        keywords.fill("parsing")  # typed, not saved yet
    with page.expect_response(previewed):
        keywords.press("Tab")  # and left: "change"
    with page.expect_response(previewed):
        reading.get_by_role("button", name="Keep as a keyword: knowledge distillation").click()
    reading.get_by_text("a keyword").wait_for()
    assert keywords.input_value() == ('parsing "knowledge distillation"')
    assert Interest.objects.get(subscriber=dana).keywords == ["knowledge distillation"]

    reading.get_by_role("button", name="Drop: speech recognition").click()
    reading.get_by_role("button", name="Restore: speech recognition").wait_for()
    assert Interest.objects.get(subscriber=dana).dropped_terms == ["speech recognition"]
    # The preview follows: the paper matched only through the dropped term is gone.
    page.locator("#preview").get_by_text(SPEECH_PAPER).wait_for(state="detached")
    shoot(page, "reading-dropped")
    keep_copy("reading-dropped")
    reading.screenshot(path="/tmp/reading-chips-dropped.png")

    reading.get_by_role("button", name="Restore: speech recognition").click()
    reading.get_by_role("button", name="Drop: speech recognition").wait_for()
    assert Interest.objects.get(subscriber=dana).dropped_terms == []
    page.locator("#preview").get_by_text(SPEECH_PAPER).wait_for()  # and back it comes

    # The reading follows the description as it is typed, before it is saved.
    with page.expect_response(previewed), page.expect_response(read):
        page.get_by_label("In a sentence").fill("speech recognition with little data")
    reading.get_by_text("As typed, not saved yet.").wait_for()
    assert not reading.get_by_role("button", name="Drop: knowledge distillation").count()

    page.get_by_role("button", name="Save my preferences").click()
    page.get_by_text("Saved.").wait_for()
    assert Interest.objects.get(subscriber=dana).keywords == ["parsing", "knowledge distillation"]
    assert page.problems == [], page.problems


def test_without_javascript_the_reading_is_a_page_of_plain_forms(browser, live_server):
    add_day()
    dana = make_subscriber("dana@example.org", description=TWO_TOPICS)
    token = tokens.make_token(dana, tokens.Purpose.PREFERENCES)
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    page.goto(f"/preferences/{token}/", timeout=60_000)
    page.get_by_role("link", name="See how we read your description").click()
    page.get_by_role("button", name="Drop: speech recognition").click(timeout=60_000)
    page.get_by_role("button", name="Restore: speech recognition").wait_for()
    assert Interest.objects.get(subscriber=dana).dropped_terms == ["speech recognition"]
    page.get_by_role("button", name="Keep as a keyword: knowledge distillation").click()
    assert Interest.objects.get(subscriber=dana).keywords == ["knowledge distillation"]
    context.close()


def test_the_terms_the_yes_papers_share_are_kept_in_place(page, browser_settings):
    day = add_day()
    sam = make_subscriber("sam@example.org", description="speech recognition")
    for paper in day:
        if "Distillation" in paper.title:
            services.feedback_record(sam, paper.arxiv_id, 1)
    token = tokens.make_token(sam, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/", timeout=60_000)
    reading = page.locator("#description-reading")
    reading.get_by_text("Your “yes” papers share:", exact=True).wait_for(timeout=60_000)
    page.locator("#preview").get_by_text(SPEECH_PAPER).wait_for(timeout=60_000)
    reading.scroll_into_view_if_needed()
    shoot(page, "reading-answer-terms")
    keep_copy("reading-answer-terms")
    with page.expect_response(previewed):
        reading.get_by_role("button", name="Keep as a keyword: knowledge distillation").click()
    reading.get_by_text("Your “yes” papers share:", exact=True).wait_for(state="detached")
    assert page.get_by_label("Keywords and phrases").input_value() == '"knowledge distillation"'
    assert Interest.objects.get(subscriber=sam).keywords == ["knowledge distillation"]
    assert page.problems == [], page.problems


def test_a_topic_is_followed_in_place_and_its_words_land_in_the_keywords(page, browser_settings):
    add_day()
    theo = make_subscriber(
        "theo@example.org", description="proving with mathematics when training on examples works"
    )
    token = tokens.make_token(theo, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/", timeout=60_000)
    reading = page.locator("#description-reading")
    reading.get_by_text("Topics that sound like what you describe:").wait_for(timeout=60_000)
    reading.scroll_into_view_if_needed()
    shoot(page, "reading-topics")
    keep_copy("reading-topics")
    with page.expect_response(previewed):
        reading.get_by_role("button", name="Follow the topic learning theory").click()
    reading.get_by_text("followed").wait_for()
    keywords = page.get_by_label("Keywords and phrases").input_value()
    assert keywords.startswith('"learning theory" "pac learning"')
    assert Interest.objects.get(subscriber=theo).keywords[:2] == ["learning theory", "pac learning"]
    assert page.problems == [], page.problems


def test_a_category_followed_from_the_reading_is_ticked_and_saving_keeps_it(page, browser_settings):
    add_day()
    erin = make_subscriber("erin@example.org")
    token = tokens.make_token(erin, tokens.Purpose.PREFERENCES)
    page.goto(f"/preferences/{token}/", timeout=60_000)  # the first ranking loads the encoder
    reading = page.locator("#description-reading")
    reading.get_by_text("Write a sentence").wait_for(timeout=60_000)
    with page.expect_response(read):
        page.get_by_label("In a sentence").fill(TWO_TOPICS)  # typed, not saved yet
    reading.get_by_text("As typed, not saved yet.").wait_for(timeout=60_000)
    cs_cl = page.locator("#prefs-form input[name=categories][value='cs.CL']")
    assert not cs_cl.is_checked()

    with page.expect_response(previewed) as preview:
        reading.get_by_role("button", name="Follow the category cs.CL").click()
    reading.get_by_text("followed").wait_for()
    assert "categories=cs.CL" in preview.value.request.post_data  # the preview has it too
    assert Interest.objects.get(subscriber=erin).categories == ["cs.CL"]
    assert cs_cl.is_checked()  # the form says so too, before anything is saved
    group = page.locator("details[data-group]", has=page.locator("input[value='cs.CL']"))
    assert group.locator("summary").get_by_text("(1 chosen)").is_visible()

    page.get_by_role("button", name="Save my preferences").click()
    page.get_by_text("Saved.").wait_for()
    saved = Interest.objects.get(subscriber=erin)
    assert saved.categories == ["cs.CL"]
    assert saved.description == TWO_TOPICS
    assert page.problems == [], page.problems
