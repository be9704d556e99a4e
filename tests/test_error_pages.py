"""With DEBUG off, a page that goes wrong says in the site's own words what happened and
where to go next: the start page, or a fresh link to one's preferences."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import get_resolver, reverse

from subscriptions import tokens
from subscriptions.models import Interest
from tests.factories import make_paper, make_subscriber


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False  # Django's technical pages otherwise


HOME = reverse("subscriptions:signup")
REQUEST_LINK = reverse("subscriptions:request_link")


def assert_in_the_sites_look(page: str) -> None:
    assert "Paperboy" in page
    assert 'href="/static/css/site.css"' in page or "/static/css/site." in page
    assert f'href="{HOME}"' in page
    assert f'href="{REQUEST_LINK}"' in page
    assert "Email me a link to my preferences" in page


@pytest.mark.django_db
def test_an_unknown_address_gets_a_page_that_says_so_and_where_to_go(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We could not find that page" in page
    assert_in_the_sites_look(page)


@pytest.mark.django_db
def test_a_404_does_not_show_the_exceptions_own_words(client):
    # The outbox's 404 explains itself to developers; visitors need none of that.
    response = client.get(reverse("digest:outbox"))
    assert response.status_code == 404
    assert "DEBUG" not in response.content.decode()


@pytest.mark.django_db
def test_a_form_with_too_many_fields_gets_a_page_that_says_nothing_was_saved(client, settings):
    fields = {f"field{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post(REQUEST_LINK, {"email": "eve@example.org", **fields})
    assert response.status_code == 400
    page = response.content.decode()
    assert "We could not read that request" in page
    assert "far more than any of our forms sends" in page
    assert "Nothing was saved or changed" in page
    assert_in_the_sites_look(page)


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1_000)
def test_a_post_too_large_to_read_gets_the_same_page(client):
    response = client.post(REQUEST_LINK, {"email": "eve@example.org", "junk": "x" * 2_000})
    assert response.status_code == 400
    assert "far more than any of our forms sends" in response.content.decode()


def test_a_host_we_do_not_serve_gets_the_plain_400_page(client):
    response = client.get(HOME, headers={"host": "evil.example"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "We could not read that request" in page
    assert "far more than any of our forms sends" not in page


@pytest.mark.django_db
def test_a_nul_character_in_a_posted_value_gets_the_400_page_and_changes_nothing(client):
    # PostgreSQL refuses NUL in text and JSON: these answered a 500 there
    # (tests/integration/test_nul_characters.py); SQLite stored the term.
    alice = make_subscriber("alice@example.org", keywords=["parsing"])
    make_paper("Graphs", arxiv_id="2501.00001")
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    posts = [
        (reverse("subscriptions:reading", args=[token]), {"keep": "graphs\x00"}),
        (reverse("subscriptions:answer", args=[token]), {"arxiv_id": "2501.00001\x00"}),
        (reverse("subscriptions:feedback_undo", args=[token]), {"arxiv_id": "\x00"}),
    ]
    for url, data in posts:
        response = client.post(url, {**data, "signal": "1"})
        assert response.status_code == 400, url
        page = response.content.decode()
        assert "Nothing was saved or changed" in page
        assert_in_the_sites_look(page)
    assert Interest.objects.get(subscriber=alice).keywords == ["parsing"]
    assert not alice.feedback.exists()


@pytest.mark.django_db
def test_a_nul_character_in_a_query_value_gets_the_400_page(client):
    response = client.get(HOME, {"q": "a\x00b"})
    assert response.status_code == 400
    assert "We could not read that request" in response.content.decode()


def test_the_500_page_renders_without_the_database_or_context_processors(settings):
    # No django_db mark: any query here fails the test. No context processors either:
    # the page must not need the request's context when something else has failed.
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}
    ]
    settings.TEMPLATES[0]["OPTIONS"]["context_processors"] = ["tests.test_error_pages.explode"]
    handler = get_resolver().resolve_error_handler(500)
    response = handler(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert_in_the_sites_look(page)


def explode(request):
    raise AssertionError("the 500 page ran a context processor")


@pytest.mark.django_db
def test_a_failing_page_gets_the_500_page_under_the_sites_security_policy(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tokens, "read_token", broken)
    client = Client(raise_request_exception=False)
    response = client.get(reverse("subscriptions:confirm", args=["any-token"]))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "the database went away" not in page
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<style" not in page and "style=" not in page  # the policy would block them


@pytest.mark.django_db
def test_a_missing_csrf_token_still_gets_its_own_friendly_page():
    response = Client(enforce_csrf_checks=True).post(HOME, {"email": "eve@example.org"})
    assert response.status_code == 403
    assert "Please try that again" in response.content.decode()


def test_a_forbidden_page_says_so_and_where_to_go(rf):
    handler = get_resolver().resolve_error_handler(403)
    request = rf.get("/somewhere/")
    response = handler(request, exception=PermissionError("internal reason"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot open this page" in page
    assert "internal reason" not in page
    assert_in_the_sites_look(page)


def test_the_page_nginx_shows_for_a_post_over_its_limit_keeps_the_413(client):
    # deploy/nginx sends a body it refused here, as a GET (tests/integration/test_proxy.py).
    response = client.get("/request-too-large/")
    assert response.status_code == 413
    page = response.content.decode()
    assert "far more than any of our forms sends" in page and "/link/" in page
