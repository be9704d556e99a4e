"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API.

Never `playwright install`: we use the system browser. Without it the tests skip,
unless CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread
from django.utils import timezone

from digest.models import Paper
from subscriptions import tasks as subscription_tasks
from subscriptions.models import Subscriber
from tests.helpers.screenshots import CHROMIUM, CHROMIUM_ARGS

# Playwright's sync API keeps an event loop in this thread; our ORM calls in the test
# body are still plain synchronous calls, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class OneRequestAtATime(WSGIServer):
    """The live server, serving one request after the other.

    The test database is SQLite in memory, and the live server's threads all use the
    test's one connection, so they share one transaction: a page's htmx requests served
    at once (the papers list refitting a learner while the preview reads) failed now and
    then with "database table is locked" (about one run in six of the journey test).
    A browser's parallel requests now wait their turn, as they would for a free worker.
    """

    def __init__(self, *args, connections_override=None, **kwargs):
        # The connections are set in the server's own thread, which serves every request.
        super().__init__(*args, **kwargs)


# Not a ThreadedWSGIServer on purpose: Django then closes each connection after its answer
# (no keep-alive), so one browser connection cannot hold the only server thread.
LiveServerThread.server_class = OneRequestAtATime  # type: ignore[assignment]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright() -> Iterator:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browser_api(playwright):
    """Plain HTTP from Playwright with no cookie jar: how a mail provider posts."""
    return playwright.request


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        timezone_id="Europe/Berlin",
        locale="en-GB",
        base_url=live_server.url,
    )
    in_flight: set = set()
    context.on("request", lambda request: in_flight.add(request))
    context.on("requestfinished", lambda request: in_flight.discard(request))
    context.on("requestfailed", lambda request: in_flight.discard(request))
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    yield page
    _let_requests_finish(page, in_flight)
    context.close()


def _let_requests_finish(page, in_flight: set, quiet_rounds: int = 20, rounds: int = 600) -> None:
    """A request the page sent as the test ended (an htmx preview on load) is still
    served after the browser closes. The live server shares the test's SQLite
    connection, so it would race the flush that empties the database; wait until no
    request has been open for a second, longer than the page's debounced triggers."""
    quiet = 0
    for _ in range(rounds):
        if page.is_closed():
            return
        quiet = 0 if in_flight else quiet + 1
        if quiet >= quiet_rounds:
            return
        page.wait_for_timeout(50)  # lets Playwright deliver the request events


@pytest.fixture
def browser_settings(settings, live_server, tmp_path, monkeypatch):
    settings.EMAIL_BACKEND = "digest.mail.outbox.OutboxEmailBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.SITE_URL = live_server.url
    settings.RATELIMIT_ENABLE = False
    cache.clear()  # the landing sample is cached for a minute
    # The Celery worker's part of a link request, done at once in the server.
    task = subscription_tasks.subscriber_request_link
    monkeypatch.setattr(task, "delay_on_commit", lambda email: task(email))
    return settings


@pytest.fixture
def carol(db):
    """An active reader, and today's paper 2501.00002 ("Robot arms") for her feedback links."""

    Paper.objects.create(
        arxiv_id="2501.00002", title="Robot arms", title_text="Robot arms",
        abstract_text="Folding.", authors=["Ada Lovelace"], categories=["cs.RO"],
        primary_category="cs.RO", announced_on=timezone.localdate(),
    )  # fmt: skip
    return Subscriber.objects.create(email="carol@example.org", status="active")
