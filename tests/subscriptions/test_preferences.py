"""The preferences page: every field, its validation, and expiring links."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions import tokens
from subscriptions.models import Interest, Subscriber
from tests.factories import give_feedback, make_paper

VALID = {
    "categories": ["cs.CL", "stat.ML"],
    "keywords": 'distillation "large language models" -survey',
    "authors": "Ada Lovelace\nAlan Turing, Grace Hopper",
    "description": "Small models that reason well.",
    "paper_limit": "15",
    "frequency": "weekly",
    "weekday": "4",
    "send_hour": "18",
    "time_zone": "Europe/Berlin",
    "empty_day": "note",
}


def prefs_path(subscriber) -> str:
    token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    return reverse("subscriptions:preferences", args=[token])


@pytest.mark.django_db
def test_the_page_shows_the_current_preferences(client, alice):
    response = client.get(prefs_path(alice))
    assert response.status_code == 200
    body = response.content.decode()
    assert "alice@example.org" in body
    assert 'value="cs.CL" checked' in body
    assert 'value="parsing"' in body
    assert "<option selected>UTC\n" in body or "<option selected>UTC<" in body


@pytest.mark.django_db
def test_the_page_and_its_scripts_and_styles_stay_under_100_kb(client, alice, paper):
    """What a browser downloads: the HTML, plus our static files as WhiteNoise serves
    them (compressed). The HTML alone also stays small, even with a long feedback list."""
    import gzip
    import re
    from pathlib import Path

    from django.contrib.staticfiles import finders

    for i in range(80):
        paper = make_paper(f"A fairly long paper title number {i}", arxiv_id=f"2502.{i:05d}")
        give_feedback(alice, paper)
    body = client.get(prefs_path(alice)).content
    assert len(body) < 50_000, f"{len(body)} bytes of HTML"
    assets = re.findall(rb'(?:src|href)="/static/([^"]+)"', body)
    assert b"js/htmx.min.js" in assets
    static = sum(len(gzip.compress(Path(finders.find(a.decode())).read_bytes())) for a in assets)
    assert len(body) + static < 100_000, f"{len(body)} + {static} bytes"


@pytest.mark.django_db
def test_categories_are_grouped_by_archive_with_human_names(client, alice):
    body = client.get(prefs_path(alice)).content.decode()
    for group in ("Computer Science", "Statistics", "Mathematics", "Physics", "Economics"):
        assert f"<summary>{group}" in body
    assert "<b>cs.CL</b> Computation and Language" in body
    assert "data-category-search" in body


@pytest.mark.django_db
def test_the_page_explains_phrases_and_exclusions(client, alice):
    body = client.get(prefs_path(alice)).content.decode()
    assert "quotes" in body
    assert "minus" in body


@pytest.mark.django_db
def test_saving_stores_everything_and_redirects(client, alice):
    response = client.post(prefs_path(alice), VALID)
    assert response.status_code == 302
    assert "saved=1" in response["Location"]
    alice.refresh_from_db()
    interest = Interest.objects.get(subscriber=alice)
    assert interest.categories == ["cs.CL", "stat.ML"]
    assert interest.keywords == ["distillation", "large language models", "-survey"]
    assert interest.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert interest.description == "Small models that reason well."
    assert (alice.paper_limit, alice.frequency, alice.weekday) == (15, "weekly", 4)
    assert (alice.send_hour, alice.time_zone, alice.empty_day) == (18, "Europe/Berlin", "note")
    assert "Saved." in client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_saved_keywords_show_again_exactly_as_typed(client, alice):
    client.post(prefs_path(alice), VALID)
    body = client.get(prefs_path(alice)).content.decode()
    assert 'value="distillation &quot;large language models&quot; -survey"' in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("paper_limit", "0", "At least 1 paper"),
        ("paper_limit", "51", "At most 50 papers"),
        ("paper_limit", "lots", "whole number"),
        ("paper_limit", "", "how many papers"),
        ("time_zone", "Mars/Olympus", "is not a time zone we know"),
        # A file beside the zones on Debian (the server's own zone), not an IANA name.
        ("time_zone", "localtime", "is not a time zone we know"),
        ("time_zone", "posixrules", "is not a time zone we know"),
        ("send_hour", "24", "pick an hour"),
        ("categories", ["cs.XX"], "not an arXiv category we know"),
        ("keywords", " ".join(f"w{i}" for i in range(51)), "50 at most"),
        ("description", "x" * 2001, "under 2000 characters"),
        ("authors", "\n".join(f"Author {i}" for i in range(51)), "50 authors at most"),
    ],
)
def test_bad_values_get_clear_messages_and_nothing_is_saved(client, alice, field, value, message):
    response = client.post(prefs_path(alice), {**VALID, field: value})
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "Nothing was saved" in body
    alice.refresh_from_db()
    assert alice.paper_limit == 10
    assert Interest.objects.get(subscriber=alice).keywords == ["parsing"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("frequency", "hourly", "“How often”: the form sent “hourly”"),
        ("frequency", None, "“How often”: the form sent no choice"),
        ("weekday", "9", "“Day of the week”: the form sent “9”"),
        ("empty_day", "<b>shout</b>", "“When nothing matches”: the form sent “&lt;b&gt;shout"),
    ],
)
def test_a_choice_the_page_does_not_offer_is_named_above_the_form(
    client, alice, field, value, said
):
    # These are radio buttons and a select: a value outside them comes from a changed or
    # outdated page, and the form has no mark beside them to explain it.
    data = {**VALID, field: value}
    if value is None:
        del data[field]
    response = client.post(prefs_path(alice), data)
    assert response.status_code == 400
    body = response.content.decode()
    alert = body.split('role="alert">', 1)[1].split("</div>", 1)[0]
    assert "Nothing was saved" in alert
    assert said in alert
    assert "fields marked below" not in alert  # none is marked
    assert "is not one of the available choices" not in body
    alice.refresh_from_db()
    assert alice.paper_limit == 10


@pytest.mark.django_db
def test_the_choice_the_page_does_not_offer_shows_the_saved_one_again(client, alice):
    response = client.post(prefs_path(alice), {**VALID, "weekday": "9", "frequency": "hourly"})
    body = response.content.decode()
    assert '<option value="0" selected>Monday</option>' in body  # alice's own
    assert 'value="daily" checked' in body
    assert 'value="15"' in body  # the rest as typed
    assert 'value="cs.CL" checked' in body and 'value="stat.ML" checked' in body
    # Saving the page as it now stands works.
    again = client.post(prefs_path(alice), {**VALID, "weekday": "0", "frequency": "daily"})
    assert again.status_code == 302


@pytest.mark.django_db
def test_a_choice_not_offered_and_a_marked_field_are_both_named(client, alice):
    response = client.post(prefs_path(alice), {**VALID, "empty_day": "x", "paper_limit": "0"})
    body = response.content.decode()
    alert = body.split('role="alert">', 1)[1].split("</div>", 1)[0]
    assert "“When nothing matches”: the form sent “x”" in alert
    assert "fields marked below" in alert
    assert "At least 1 paper" in body


@pytest.mark.django_db
def test_user_text_is_escaped_on_the_page(client, alice):
    client.post(prefs_path(alice), {**VALID, "description": "<script>alert(1)</script>"})
    body = client.get(prefs_path(alice)).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.django_db
def test_the_get_page_changes_nothing(client, alice, django_assert_max_num_queries):
    before = Subscriber.objects.values().get(pk=alice.pk)
    with django_assert_max_num_queries(6):
        client.get(prefs_path(alice))
    assert Subscriber.objects.values().get(pk=alice.pk) == before


@pytest.mark.django_db
def test_an_expired_preferences_link_offers_a_fresh_one(client, alice, settings):
    path = prefs_path(alice)
    later = timezone.now() + timedelta(seconds=settings.PREFERENCES_TOKEN_MAX_AGE + 1)
    with time_machine.travel(later):
        get = client.get(path)
        post = client.post(path, VALID)
    assert get.status_code == post.status_code == 400
    assert "This link has expired" in get.content.decode()
    assert reverse("subscriptions:request_link") in get.content.decode()
    alice.refresh_from_db()
    assert alice.paper_limit == 10


@pytest.mark.django_db
def test_a_tampered_preferences_link_is_a_friendly_page(client, alice):
    response = client.get(prefs_path(alice).replace("/preferences/", "/preferences/0"))
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


@pytest.mark.django_db
def test_a_confirm_token_does_not_open_preferences(client, alice):
    token = tokens.make_token(alice, tokens.Purpose.CONFIRM)
    response = client.get(reverse("subscriptions:preferences", args=[token]))
    assert response.status_code == 400


@pytest.mark.django_db
def test_saving_needs_csrf(alice):
    response = Client(enforce_csrf_checks=True).post(prefs_path(alice), VALID)
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.paper_limit == 10


@pytest.mark.django_db
def test_a_pending_subscriber_is_told_to_confirm(client, bob):
    assert "not confirmed your address" in client.get(prefs_path(bob)).content.decode()


@pytest.mark.django_db
def test_an_unsubscribed_subscriber_gets_a_resubscribe_button_on_a_link_mailed_since(client, alice):
    Subscriber.objects.filter(pk=alice.pk).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):  # asked for on /link/
        body = client.get(prefs_path(alice)).content.decode()
    assert "You are unsubscribed" in body
    assert "/resubscribe/" in body


@pytest.mark.django_db
def test_the_page_loads_htmx_and_our_script_from_our_own_static_files(client, alice):
    response = client.get(prefs_path(alice))
    body = response.content.decode()
    assert '/static/js/htmx.min.js"' in body
    assert '/static/js/paperboy.js"' in body
    assert "https://" not in body.split("<body>")[0]
    assert "<script>" not in body
    assert "style=" not in body
