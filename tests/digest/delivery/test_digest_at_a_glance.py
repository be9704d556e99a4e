"""What a reader takes in at a glance: subject, top line, sections, gist, buzz, picture."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from digest.delivery import rendering, sections
from digest.models import Delivery, DeliveryItem, UpvoteSnapshot
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

THUMB = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2511.00001.png"
REASONS = {
    "keywords": "matches 'distillation' · cs.CL · 12 upvotes",
    "authors": "by Geoffrey Hinton · cs.LG",
    "liked": "like 'Born Again Neural Networks', which you liked",
    "trending": "cs.CV · 40 upvotes",
}


def digest_of(reasons: list[str], email: str = "reader@example.org", **paper_fields):
    subscriber = make_subscriber(email, keywords=["distillation"])
    row = Delivery.objects.create(subscriber=subscriber, digest_date=date(2026, 11, 23))
    pairs = []
    for n, reason in enumerate(reasons, start=1):
        paper = make_paper(
            f"Paper {n}: a study of something",
            "Models are big. We propose a way to make them small. It works well.",
            **paper_fields,
        )
        pairs.append((DeliveryItem(delivery=row, paper=paper, rank=n, reason=reason), paper))
    return row, pairs


# -- subject ---------------------------------------------------------------------------


def test_the_subject_names_the_count_the_best_paper_and_the_topic():
    subject = sections.subject_line(
        ["Born Again Networks", "Other paper"] + ["x"] * 5, [REASONS["keywords"]] * 7
    )

    assert subject == "7 papers · “Born Again Networks” and 6 more on distillation"


def test_a_paper_named_before_a_colon_is_called_by_its_name():
    subject = sections.subject_line(
        ["AdapterFusion: Non-Destructive Task Composition for Transfer Learning"], []
    )

    assert subject == "1 paper · “AdapterFusion”"


def test_a_title_in_a_script_without_spaces_keeps_its_words_in_the_subject():
    title = (
        "Distillation 面向大规模语言模型的知识蒸馏与师生差距的系统研究"
        "以及其在多语言场景下的应用与评估方法和未来工作的展望与讨论"
    )

    subject = sections.subject_line([title], ["matches 'distillation'"])

    assert len(subject) <= 70
    assert "面向大规模语言模型" in subject


@given(
    titles=st.lists(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1),
        min_size=1,
        max_size=50,
    ),
    keyword=st.from_regex(r"[a-z][a-z ]{0,60}[a-z]", fullmatch=True),
)
def test_the_subject_is_at_most_70_characters_and_never_cuts_a_word(titles, keyword):
    subject = sections.subject_line(titles, [f"matches '{keyword}'"])

    assert 0 < len(subject) <= 70
    assert subject == subject.strip()
    words = set(" ".join([*titles, keyword]).split())
    for word in subject.replace("“", " ").replace("”", " ").replace("…", " ").split():
        if word not in {"·", "and", "more", "on", "paper", "papers", "for", "you"}:
            assert word.isdigit() or any(word in w for w in words), word


def test_the_rendered_subject_has_no_leading_space_and_fits():
    row, pairs = digest_of([REASONS["keywords"]] * 3)

    subject = rendering.render_digest(row, pairs)[0]

    assert subject == "3 papers · “Paper 1” and 2 more on distillation"


def test_a_digest_of_trending_papers_names_no_interest_the_subscriber_never_gave():
    # An empty profile gets today's trending papers (picking.trending); their categories
    # are the papers', not the subscriber's.
    reasons = ["trending · 40 upvotes · cs.AI", "new today · physics.soc-ph"]
    titles = ["Born Again Networks", "Other paper"]

    assert sections.why_line(reasons) == (
        "Today's trending papers: tell us what you follow and we pick for you."
    )
    assert sections.subject_line(titles, reasons) == "2 papers · “Born Again Networks” and 1 more"
    assert sections.why_line([*reasons, "cs.CL"]) == "Picked for cs.CL."


# -- top of the email, sections --------------------------------------------------------


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_the_top_shows_the_date_view_in_browser_and_why_these_papers():
    row, pairs = digest_of([REASONS["keywords"], REASONS["authors"]])

    subject, text, html = rendering.render_digest(row, pairs)

    head = html.split('class="card"', 1)[0]
    assert "Mon 23 Nov 2026" in head and "View in browser" in head
    assert rendering.view_url(row) in head
    assert "Picked for “distillation”, cs.CL and papers by Geoffrey Hinton." in head
    assert "Picked for “distillation”" in text.split("\n\n", 1)[0]


def test_eight_papers_or_more_come_in_sections_each_in_rank_order():
    kinds = ["trending", "keywords", "authors", "keywords", "liked"] + ["keywords"] * 3
    row, pairs = digest_of([REASONS[k] for k in kinds])

    context = rendering.digest_context(row, pairs)
    html = rendering.render_digest(row, pairs)[2]

    titles = [s["title"] for s in context["sections"]]
    assert titles == [
        "By authors you follow",
        "Matching your keywords",
        "Like papers you liked",
        "Trending in your categories",
    ]
    keyword_titles = [context["papers"][i]["title"] for i in context["sections"][1]["indexes"]]
    assert keyword_titles == [f"Paper {n}: a study of something" for n in (2, 4, 6, 7, 8)]
    assert [p["rank"] for p in context["papers"]] == list(range(1, 9))
    assert all(title in html for title in titles)


def test_fewer_than_eight_papers_are_one_ranked_list():
    kinds = ["trending", "keywords", "authors", "keywords", "liked", "keywords", "keywords"]
    row, pairs = digest_of([REASONS[k] for k in kinds])

    context = rendering.digest_context(row, pairs)
    html = rendering.render_digest(row, pairs)[2]

    assert [s["title"] for s in context["sections"]] == [""]
    assert "By authors you follow" not in html
    assert [p["title"][:7] for p in context["papers"]] == [f"Paper {n}" for n in range(1, 8)]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("matches 'moe', 'distillation' · 12 upvotes", "keywords"),
        ("matches 'moe' · by Ada Lovelace", "authors"),
        ("more like papers you liked", "liked"),
        ("like 'Born Again Neural Networks', which you liked · cs.LG", "liked"),
        ("similar to your description · cs.CL", "description"),
        ("cs.CL · 48 upvotes", "trending"),
        ("48 upvotes", "trending"),
        ("", "trending"),
    ],
)
def test_each_reason_the_ranking_gives_has_a_section(reason, kind):
    assert sections.reason_kind(reason) == kind


# -- each paper ------------------------------------------------------------------------


def test_each_card_leads_with_the_gist_and_the_text_part_has_it_too():
    row, pairs = digest_of([REASONS["keywords"]])

    subject, text, html = rendering.render_digest(row, pairs)

    assert "In one sentence: We propose a way to make them small." in text
    assert 'class="gist"' in html and "We propose a way to make them small." in html


def test_the_thumbnail_appears_only_when_the_listing_gave_one():
    with_thumb, pairs = digest_of([REASONS["keywords"]], thumbnail_url=THUMB)
    html = rendering.render_digest(with_thumb, pairs)[2]
    assert f'<img src="{THUMB}" alt="Paper 1" width="560"' in html
    assert html.count("<img") == 1

    without, pairs = digest_of([REASONS["keywords"]], email="other@example.org")
    assert "<img" not in rendering.render_digest(without, pairs)[2]


def test_the_upvote_badge_shows_the_rise_since_yesterday_when_there_is_one():
    row, pairs = digest_of([REASONS["keywords"], REASONS["trending"]], upvotes=40)
    rising, flat = pairs[0][1], pairs[1][1]
    UpvoteSnapshot.objects.create(paper=rising, upvotes=12)
    UpvoteSnapshot.objects.filter(paper=rising).update(
        taken_at=timezone.now() - timedelta(hours=26)
    )
    UpvoteSnapshot.objects.create(paper=flat, upvotes=40)

    subject, text, html = rendering.render_digest(row, pairs)

    assert html.count("▲ 40") == 2
    assert html.count("+28 since yesterday") == 1
    assert "40 upvotes (+28 since yesterday)" in text


def test_the_card_shows_the_reason_without_repeating_the_upvote_count():
    row, pairs = digest_of([REASONS["keywords"]], upvotes=12)

    html = rendering.render_digest(row, pairs)[2]

    assert "#1 · matches “distillation” · cs.CL</p>" in html


def test_the_web_version_folds_the_whole_abstract_under_the_gist():
    row, pairs = digest_of([REASONS["keywords"]])

    email = rendering.render_digest(row, pairs)[2]
    web = rendering.DigestRenderer(web=True).render(row, pairs)[2]

    assert "<details>" not in email
    assert "<details><summary" in web
    assert "Models are big. We propose a way to make them small. It works well." in web
    assert "Earlier digests" in web and "View in browser" not in web.split("card", 1)[0]


def test_the_web_version_names_the_paper_in_each_of_its_links():
    row, pairs = digest_of([REASONS["keywords"]], hf_url="https://huggingface.co/papers/x")
    title = pairs[0][1].title_text

    email = rendering.render_digest(row, pairs)[2]
    web = rendering.DigestRenderer(web=True).render(row, pairs)[2]

    # A screen reader's list of the page's links: each says which paper it is about.
    for link in ("PDF", "Daily Papers", "More like this", "Fewer like this"):
        assert re.search(f'aria-label="{link}: {re.escape(title)}"[^>]*>{link}</a>', web), link
    assert "aria-label" not in email  # every byte counts under Gmail's clipping limit
