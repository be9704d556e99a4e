"""The pages a subscriber reaches from the site or from a link in an email.

Mail scanners open every link they see, so a GET only ever shows a page; changes happen
on POST. Links carry signed tokens (tokens.py); a bad or expired one gets a friendly
page that offers a fresh link.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from digest import selectors as paper_selectors
from digest.delivery import planning
from digest.models import Paper

from . import categories, ratelimits, selectors, services, tasks, tokens
from .addresses import display_email
from .forms import RequestLinkForm, SignUpForm
from .models import Subscriber

log = logging.getLogger(__name__)


def subscriber_for(token: str, purpose: tokens.Purpose) -> tuple[Subscriber, tokens.TokenData]:
    data = tokens.read_token(token, purpose)
    try:
        return Subscriber.objects.get(public_id=data.subscriber_public_id), data
    except Subscriber.DoesNotExist as exc:
        raise tokens.BadToken("no such subscriber") from exc


TokenView = Callable[[HttpRequest, str], HttpResponse]

# The methods of a page with a form. HEAD answers like GET without the body: link
# checkers and some mail scanners send it, and a 405 reads to them as a broken link.
# Every view acts on POST alone, so HEAD, like GET, only ever shows the page.
require_page_methods = require_http_methods(["GET", "HEAD", "POST"])


def subscriber_view(
    purpose: tokens.Purpose, *, consent: bool = False
) -> Callable[[Callable[[HttpRequest, str, Subscriber], HttpResponse]], TokenView]:
    """The view gets the subscriber its signed token names; a bad, expired or unknown
    token gets the bad-link page (which offers a fresh link) instead. With `consent`,
    a link made before the subscriber last unsubscribed is expired too, unless they are
    back (active): such a link can bring nobody back then, and the view says they are."""

    def decorate(view: Callable[[HttpRequest, str, Subscriber], HttpResponse]) -> TokenView:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            try:
                subscriber, _ = subscriber_for(token, purpose)
                if consent and subscriber.status != Subscriber.Status.ACTIVE:
                    tokens.read_consent_token(token, purpose, subscriber)
            except tokens.BadToken as exc:
                return bad_link(request, exc)
            return view(request, token, subscriber)

        return wrapper

    return decorate


def bad_link(request: HttpRequest, exc: tokens.BadToken) -> HttpResponse:
    context = {"expired": isinstance(exc, tokens.ExpiredToken), "form": RequestLinkForm()}
    return render(request, "subscriptions/bad_link.html", context, status=400)


def too_many(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "subscriptions/too_many.html", {"what": what}, status=429)


SAMPLE_CACHE_KEY = "paperboy:landing-sample"
# The sample changes a few times a day; a minute of caching takes its queries off the
# busiest page (see docs/benchmarks/web.md) and it still reads as live.
SAMPLE_CACHE_SECONDS = 60


def _top_papers() -> list[dict]:
    papers = cache.get(SAMPLE_CACHE_KEY)
    if papers is None:
        try:
            papers = paper_selectors.top_papers(limit=5)
        except Exception:  # noqa: BLE001 - a sample is decoration; the form must still show.
            log.exception("landing sample failed")
            return []
        cache.set(SAMPLE_CACHE_KEY, papers, SAMPLE_CACHE_SECONDS)
    return papers


class ResponseThen(HttpResponse):
    """A response that runs some work after it has gone out.

    The WSGI server calls close() once the client has the whole body; work done there
    cannot show in the response time. Sign-up and link requests use it so that a known
    address and an unknown one (a lookup and a mail sent, or nothing to do) look the
    same from outside, however slow the mail server is.
    """

    def __init__(self, *args, then, **kwargs):
        super().__init__(*args, **kwargs)
        self._then = then

    def close(self) -> None:
        then, self._then = self._then, None
        try:
            if then is not None:
                then()
        except Exception:  # noqa: BLE001 - the page is sent; log instead of a 500.
            log.exception("work after the response failed")
        finally:
            super().close()


@require_page_methods
def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if ratelimits.ip_limited(request, "signup"):
            return too_many(request, "sign-ups")
        if form.is_bot():
            return render(request, "subscriptions/check_inbox.html")
        if form.is_valid():
            data = form.cleaned_data
            if ratelimits.email_limited(request, "signup", data["email"]):
                return too_many(request, "sign-ups")
            return _then(
                render(
                    request,
                    "subscriptions/check_inbox.html",
                    {"email": display_email(data["email"])},
                ),
                lambda: services.subscriber_sign_up(
                    data["email"],
                    time_zone=data["time_zone"],
                    categories=data["categories"],
                    keywords=data["keywords"],
                ),
            )
    context = {
        "form": form,
        "papers": _top_papers(),
        "popular": categories.popular_choices(),
        "chosen": form["categories"].value() or [],
    }
    return render(request, "subscriptions/signup.html", context, status=400 if form.errors else 200)


def _then(page: HttpResponse, work) -> ResponseThen:
    response = ResponseThen(page.content, content_type=page["Content-Type"], then=work)
    for name, value in page.cookies.items():
        response.cookies[name] = value
    return response


@require_page_methods
def request_link(request: HttpRequest) -> HttpResponse:
    form = RequestLinkForm(request.POST or None)
    if request.method == "POST":
        if ratelimits.ip_limited(request, "link"):
            return too_many(request, "link requests")
        if form.is_bot():
            return render(request, "subscriptions/link_sent.html")
        if form.is_valid():
            email = form.cleaned_data["email"]
            if ratelimits.email_limited(request, "link", email):
                return too_many(request, "link requests")
            # The lookup and the mail happen in a worker: a known address and an unknown
            # one cost this process the same (one enqueue), so timing tells nothing.
            tasks.subscriber_request_link.delay_on_commit(email)  # type: ignore[attr-defined]  # Celery 5.4; celery-types lags
            return render(request, "subscriptions/link_sent.html")
    status = 400 if form.errors else 200
    return render(request, "subscriptions/request_link.html", {"form": form}, status=status)


@require_page_methods
@subscriber_view(tokens.Purpose.CONFIRM, consent=True)
def confirm(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    # A link made before the last unsubscribe does not bring its subscriber back. Once
    # they are back (this link's confirmation cleared the mark it carries), it only leads
    # the way in again, as a first confirmation's link does.
    if request.method == "POST":
        subscriber = services.subscriber_confirm(subscriber)
        context = {
            "subscriber": subscriber,
            "first": planning.first_digest(subscriber, timezone.now()),
            "topics": selectors.chosen_topics(subscriber),
            **_preferences_links(subscriber),
        }
        return render(request, "subscriptions/confirmed.html", context)
    if subscriber.status == Subscriber.Status.ACTIVE:
        # The mail's link opened again, days later: nothing to press, the way in instead.
        return render(request, "subscriptions/confirm.html", _preferences_links(subscriber))
    return render(request, "subscriptions/confirm.html", {"token": token})


def _preferences_links(subscriber: Subscriber) -> dict[str, str]:
    preferences_token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    return {
        "preferences_url": tokens.preferences_url(subscriber),
        "suggestions_url": reverse("subscriptions:suggestions", args=[preferences_token]),
    }


ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


def _one_click(request: HttpRequest) -> bool:
    """An RFC 8058 one-click POST, as mail providers send it (urlencoded or multipart)."""
    return request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click"


# The one CSRF exception: RFC 8058 one-click POSTs come from mail providers, without our
# cookie. The signed token in the URL is what authorises them, and only them: the page's
# button posts its form with the CSRF token, as every other form does.
@csrf_exempt
@require_page_methods
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if _one_click(request):
        return _unsubscribe(request, token)
    return _unsubscribe_page(request, token)


@subscriber_view(tokens.Purpose.UNSUBSCRIBE)
def _unsubscribe(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    just_left = False
    if request.method == "POST":
        just_left = services.subscriber_unsubscribe(subscriber)
        if _one_click(request):
            # The mail provider reads nothing back: answer at once, set no cookie.
            return HttpResponse("You are unsubscribed.\n", content_type="text/plain")
    elif not subscriber.has_unsubscribed:
        return render(request, "subscriptions/unsubscribe.html", {"token": token})
    # The link never expires: what the page offers expires with the mail it came in.
    origin = tokens.signed_at(token)
    context = {
        "already": not just_left,
        # The undo only in the answer to the press that unsubscribed: anyone holding the
        # mail, forwarded or not, can open the link again or press once more.
        "resubscribe_token": tokens.undo_token(subscriber, origin, just_left=just_left),
        "preferences_url": tokens.preferences_url_as_of(subscriber, origin),
        "suppressed": subscriber.status == Subscriber.Status.BOUNCED,
    }
    return render(request, "subscriptions/unsubscribed.html", context)


_unsubscribe_page = csrf_protect(_unsubscribe)


@require_page_methods
@subscriber_view(tokens.Purpose.RESUBSCRIBE, consent=True)
def resubscribe(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    # Back already: the button pressed twice, or the page reloaded after it worked.
    back = subscriber.status == Subscriber.Status.ACTIVE
    if request.method == "POST" and not back:
        # An address that never confirmed is mailed a confirmation again: it counts
        # against that inbox's sign-up mails, so pressing again cannot flood it.
        if not subscriber.confirmed_at and ratelimits.email_limited(
            request, "signup", subscriber.email
        ):
            return too_many(request, "confirmation mails")
        subscriber = services.subscriber_resubscribe(subscriber)
    elif not back:
        return render(request, "subscriptions/resubscribe.html", {"token": token})
    context = {
        "subscriber": subscriber,
        "already": back,
        "preferences_url": tokens.preferences_url_as_of(subscriber, tokens.undo_origin(token)),
    }
    return render(request, "subscriptions/resubscribed.html", context)


def _feedback_target(data: tokens.TokenData) -> tuple[str, int]:
    arxiv_id, _, signal = data.extra.rpartition(":")
    try:
        value = int(signal)
    except ValueError as exc:
        raise tokens.BadToken("malformed feedback token") from exc
    if not arxiv_id or value not in (1, -1):
        raise tokens.BadToken("malformed feedback token")
    return arxiv_id, value


@require_page_methods
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber, data = subscriber_for(token, tokens.Purpose.FEEDBACK)
        arxiv_id, signal = _feedback_target(data)
    except tokens.BadToken as exc:
        return bad_link(request, exc)
    paper = Paper.objects.filter(arxiv_id=arxiv_id).only("arxiv_id", "title_text").first()
    context = {
        "token": token,
        "arxiv_id": arxiv_id,
        "title": paper.title_text if paper else "",
        "more": signal > 0,
        # The link never expires: the way to the preferences expires with its mail.
        "preferences_url": tokens.preferences_url_as_of(subscriber, tokens.signed_at(token)),
    }
    if paper is None:
        return render(request, "subscriptions/feedback_gone.html", context, status=404)
    if request.method == "POST":
        if request.POST.get("undo"):
            # The answer this one replaced comes back, as on the papers step (the form
            # carries it unsigned: the token can set either answer on this paper anyway).
            restore = _other_signal(request.POST.get("previous"), signal)
            services.feedback_undo(subscriber, arxiv_id, restore=restore)
            context |= {"undone": True, "restored": restore}
            return render(request, "subscriptions/feedback.html", context)
        answered = services.feedback_record(subscriber, arxiv_id, signal)
        context["previous"] = answered.replaced if answered else None
        return render(request, "subscriptions/feedback_done.html", context)
    return render(request, "subscriptions/feedback.html", context)


def _other_signal(value: str | None, signal: int) -> int | None:
    """The other answer (1 or -1) than `signal`, when `value` is it; None otherwise."""
    return -signal if value == str(-signal) else None


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a form came back without its security token."""
    return render(request, "subscriptions/csrf_failure.html", status=403)
