"""The reading of a description: what Paperboy made of it, each term to keep as a keyword
or to drop, each category to follow. Plain forms that work without JavaScript; with htmx
the reading answers in place under the description field.

Every view takes the expiring preferences token; changes are POSTs with CSRF.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from digest.delivery.previews import description_reading
from digest.ranking import glossary

from . import categories, forms, interests, services, tokens
from .models import Subscriber
from .views import require_page_methods, subscriber_view

log = logging.getLogger(__name__)
# What each button does, by its name; its value is the term or the category.
ACTIONS = {
    "keep": services.interest_keep_term,
    "drop": services.interest_drop_term,
    "restore": services.interest_restore_term,
    "follow": services.interest_follow_category,
    "topic": services.interest_follow_topic,
}
# What a button did, said where focus lands after it answers in place: the button
# pressed is gone with the reading it was in, and a screen reader hears this line.
DONE = {
    "keep": "Kept “{}”: it is now one of your keywords.",
    "drop": "Dropped “{}”: it no longer counts for you.",
    "restore": "Restored “{}”.",
    "follow": "Following the category {}.",
    "topic": "Following the topic “{}”: its words are among your keywords.",
}
# Shown as three weights: the query's rows have unit length, so a word's weight is its share.
STRONG, MEDIUM = 0.3, 0.15


def _reading(subscriber: Subscriber, typed: str | None) -> dict | None:
    """The reading as plain data; None when the ranking cannot run (the page still works)."""
    try:
        reading = description_reading(subscriber, typed)
    except Exception:  # noqa: BLE001 - a broken reading must not break the page
        log.exception("reading failed for subscriber %s", subscriber.pk)
        return None
    for term in reading["terms"]:
        weight = term["weight"]
        term["strength"] = "strong" if weight >= STRONG else "medium" if weight >= MEDIUM else ""
    return reading


def _chosen(data: QueryDict) -> bool:
    return any(data.get(action, "").strip() for action in ACTIONS)


def _act(subscriber: Subscriber, data: QueryDict) -> tuple[str, str, str]:
    """(action, value, a problem to show or "") for the button pressed."""
    for action, service in ACTIONS.items():
        value = data.get(action, "").strip()[:200]
        if value:
            try:
                service(subscriber, value)
            except services.InterestFull as full:
                return action, value, f"Nothing was added: {full}"
            return action, value, ""
    return "", "", "Nothing was changed: no term was chosen."


def _keywords_typed(data: QueryDict, kept: Sequence[str]) -> str | None:
    """The keywords field as the subscriber has it on the page (maybe not saved yet) with
    the kept terms added, so that saving the form keeps them; None when it was not sent."""
    if "keywords" not in data:
        return None
    typed = interests.parse_keywords(data.get("keywords", "")[: forms.KEYWORDS_MAX_CHARS])
    known = {k.lower() for k in typed}
    for term in kept:
        keyword = interests.normalise_keyword(term.lstrip("-"))  # as the service keeps it
        if keyword and keyword.lower() not in known:
            typed.append(keyword)
            known.add(keyword.lower())
    return interests.format_keywords(typed)


def _added(action: str, value: str) -> list[str]:
    """The keywords a keep or a topic's follow adds."""
    if action == "keep":
        return [value]
    topic = glossary.topic_named(value) if action == "topic" else None
    return list(topic.keywords) if topic else []


@require_page_methods
@subscriber_view(tokens.Purpose.PREFERENCES)
def reading(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """GET shows the reading (a page, or its fragment for htmx); POST keeps, drops,
    restores a term or follows a category, then shows it again. A POST from htmx with
    the description as typed and no button reads that text and saves nothing."""
    htmx = request.headers.get("HX-Request") == "true"
    # With htmx the page sends the description as typed: the reading follows it unsaved.
    typed = request.POST["description"][:2000] if htmx and "description" in request.POST else None
    action, value, problem = "", "", ""
    if request.method == "POST" and (typed is None or _chosen(request.POST)):
        action, value, problem = _act(subscriber, request.POST)
        if not htmx and not problem:
            back = request.POST.get("next")
            if back in ("reading", "suggestions"):  # the page the button was on
                return redirect(reverse(f"subscriptions:{back}", args=[token]))
            url = reverse("subscriptions:preferences", args=[token])
            return redirect(url + "#description-reading")
    context = {
        "token": token,
        "subscriber": subscriber,
        "reading": _reading(subscriber, typed),
        "problem": problem,
        "live": htmx,  # a one-line summary for the page's live region
        "done": DONE[action].format(value) if action and not problem else "",
        "keywords_value": (
            _keywords_typed(request.POST, added)
            if (added := _added(action, value)) and not problem
            else None
        ),
        # Ticked in the form too, even when it was followed already (unticked, not saved).
        "followed_category": (
            value if action == "follow" and not problem and categories.is_known(value) else ""
        ),
    }
    if htmx:  # 200 whatever happened: htmx swaps 2xx answers only
        response = render(request, "subscriptions/_reading.html", context)
        if action and not problem:
            # The preview follows, once the form has what the reading changed in it.
            response["HX-Trigger-After-Swap"] = "interests-changed"
        return response
    status = 400 if problem else 200
    return render(request, "subscriptions/reading.html", context, status=status)
