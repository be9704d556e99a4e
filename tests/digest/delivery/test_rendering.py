"""The digest email itself: plain-data context, both parts, the inlined HTML, its size."""

import json
import os
import re
from datetime import date
from email import message_from_bytes, policy

import pytest
import time_machine

from digest.delivery import display, rendering
from digest.mail import templates
from digest.models import Delivery, DeliveryItem
from subscriptions import tokens
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber

pytestmark = pytest.mark.django_db

GMAIL_CLIPS_AT = 102 * 1024

LONG_ABSTRACT = (
    "We present a method whose description runs on for a very long time, mentioning "
    "many techniques, datasets and baselines along the way, because abstracts do. "
) * 12


def biggest_digest(count: int = 50):
    """The largest digest a subscriber can ask for, with everything at its longest."""
    subscriber = make_subscriber(
        "a.very.long.address.of.someone@subdomain.university-example.org",
        keywords=["distillation"],
        paper_limit=50,
    )
    row = Delivery.objects.create(subscriber=subscriber, digest_date=date(2026, 11, 23))
    pairs = []
    for n in range(count):
        paper = make_paper(
            "Distillation of extraordinarily large multilingual mixture-of-experts "
            f"transformers into small students without losing calibration, part {n}",
            LONG_ABSTRACT,
            authors=[f"Firstname{a} Verylonglastname{a}" for a in range(300)],
            organization="The Institute for Extremely Long Organisation Names in Research",
            upvotes=1234,
            hf_url=f"https://huggingface.co/papers/2511.{n:05d}",
            code_url=f"https://github.com/some-organisation/some-long-repository-name-{n}",
            thumbnail_url="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/"
            f"2511.{n + 10000:05d}.png",
            arxiv_id=f"2511.{n + 10000:05d}",
        )
        item = DeliveryItem(
            delivery=row,
            paper=paper,
            rank=n + 1,
            score=1.0,
            reason="matches 'distillation' · matches 'mixture of experts' · cs.LG · 1234 upvotes",
        )
        pairs.append((item, paper))
    return row, pairs


def test_the_context_is_plain_data():
    row, pairs = biggest_digest(3)

    context = rendering.digest_context(row, pairs)

    assert json.loads(json.dumps(context)) == context


def test_the_largest_digest_stays_under_gmails_clipping_limit(settings):
    settings.SITE_URL = "https://paperboy.a-rather-long-domain-name.example.org"
    row, pairs = biggest_digest(50)

    subject, text, html = rendering.render_digest(row, pairs)

    assert html.count("More like this") == 50
    assert html.count('class="th"') == 0 and html.count("<img ") == 50
    assert html.count("We present a method") == 50  # each gist
    assert len(html.encode()) < GMAIL_CLIPS_AT - 4096, len(html.encode())
    # No line long enough to force quoted-printable (which would grow it by a sixth).
    assert max(len(line.encode()) for line in html.splitlines()) < 998
    assert "Firstname0 Verylonglastname0 et al. (300 authors)" in html
    assert "Firstname0 Verylonglastname0 et al. (300 authors)" in text


def test_the_html_is_inlined_for_mail_clients_and_keeps_its_media_queries():
    row, pairs = biggest_digest(2)

    html = rendering.render_digest(row, pairs)[2]

    head, body = html.split("<body", 1)
    assert "prefers-color-scheme:dark" in head and "max-width:480px" in head
    assert '<meta name="color-scheme" content="light dark">' in head
    assert "<!--[if mso]>" in body
    assert 'style="' in body and "font-family:Arial" in body
    assert "{{" not in html and "{%" not in html
    # No inlining placeholder left (a signed link may hold the letters "pbj" by chance).
    assert not re.search(r"<!--pbj|pbjx\d{5}x", html)
    assert "Why: “distillation” (2)" in body  # the preheader carries the reasons
    assert "display:none" in body.split("Why: “distillation” (2)", 1)[0][-300:]


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_both_parts_carry_every_link(client):
    row, pairs = biggest_digest(1)
    subscriber = row.subscriber

    context = rendering.digest_context(row, pairs)
    subject, text, html = templates.render("digest", context)

    paper = pairs[0][1]
    expected = [
        tokens.feedback_url(subscriber, paper.arxiv_id, 1),
        tokens.feedback_url(subscriber, paper.arxiv_id, -1),
        tokens.preferences_url(subscriber),
        tokens.unsubscribe_url(subscriber),
        rendering.view_url(row),
        rendering.feed_url(subscriber),
        "https://huggingface.co/papers/2511.00000",
        f"https://arxiv.org/pdf/{paper.arxiv_id}",
    ]
    for url in expected:
        assert url in text
        assert url in html
    assert client.get(rendering.feed_url(subscriber)).status_code == 200


def test_a_title_without_a_unicode_form_is_made_readable_from_its_latex():
    paper = make_paper("placeholder")
    paper.title = r"$\alpha$-Distillation of \textbf{Transformers} \& friends"
    paper.title_text = ""

    assert display.readable_title(paper) == "α-Distillation of Transformers & friends"


def test_the_template_is_inlined_once_per_version_not_per_message(monkeypatch, tmp_path):
    calls = []
    real = templates.inline_template_source

    def counting(source):
        calls.append(1)
        return real(source)

    monkeypatch.setattr(templates, "inline_template_source", counting)
    templates.html_environment.cache_clear()
    row, pairs = biggest_digest(2)
    try:
        for _ in range(5):
            rendering.render_digest(row, pairs)
        assert len(calls) == 1

        template = templates.TEMPLATE_DIR / "digest.html"
        stat = template.stat()
        os.utime(template, (stat.st_atime, stat.st_mtime + 5))
        try:
            rendering.render_digest(row, pairs)
            rendering.render_digest(row, pairs)
        finally:
            os.utime(template, (stat.st_atime, stat.st_mtime))
        assert len(calls) == 2
    finally:
        templates.html_environment.cache_clear()


@time_machine.travel(MONDAY_9_UTC, tick=False)  # the link's token carries the time
def test_an_empty_day_note_points_to_the_preferences():
    subscriber = make_subscriber("quiet@example.org")
    row = Delivery.objects.create(subscriber=subscriber, digest_date=date(2026, 11, 23))

    subject, text, html = rendering.render_digest(row, [])

    assert subject == "No matching papers this time"
    assert tokens.preferences_url(subscriber) in html
    assert "No new papers matched" in text


def test_the_per_chunk_fast_path_renders_exactly_what_the_templates_render():
    row, pairs = biggest_digest(3)
    renderer = rendering.DigestRenderer()

    context = renderer.context(row, pairs)
    fast = renderer.render_context(context)
    again = renderer.render_context(context)  # now from the cached cards

    assert fast == again == templates.render("digest", context)


def test_the_wire_bytes_say_what_djangos_message_says():
    row, pairs = biggest_digest(2)
    Paper = type(pairs[0][1])
    Paper.objects.filter(pk=pairs[0][1].pk).update(title_text="Ünïcødé title — 日本語")
    pairs[0][1].refresh_from_db()
    email = rendering.DigestRenderer().email(row, pairs)

    ours = message_from_bytes(email.as_bytes(), policy=policy.default)
    djangos = message_from_bytes(
        email.django_message().message().as_bytes(linesep="\r\n"), policy=policy.default
    )

    for header in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe", "List-Id"):
        assert str(ours[header]).strip() == str(djangos[header]).strip(), header
    assert "Ünïcødé title — 日本語" in str(ours["Subject"])
    for subtype in ("plain", "html"):
        assert (
            ours.get_body(preferencelist=(subtype,)).get_content()
            == djangos.get_body(preferencelist=(subtype,)).get_content()
        )
    assert max(len(line) for line in email.as_bytes().split(b"\r\n")) < 998


def test_a_paper_changed_behind_the_caches_back_shows_its_new_text():
    row, pairs = biggest_digest(1)
    paper = pairs[0][1]
    rendering.render_digest(row, pairs)  # caches its display strings and card

    # A queryset update leaves `last_seen_at` alone; the cache must notice anyway.
    type(paper).objects.filter(pk=paper.pk).update(title_text="A corrected title", upvotes=7)
    paper.refresh_from_db()
    subject, text, html = rendering.render_digest(row, pairs)

    assert "A corrected title" in text and "A corrected title" in html
    assert "7 upvotes" in text
