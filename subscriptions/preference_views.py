"""The preferences page and what hangs off it: live preview, feedback, my data.

Every view here takes the expiring preferences token; all changes are POSTs with CSRF.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from digest.delivery import previews

from . import categories, selectors, services, tokens
from .addresses import display_email
from .examples import MAX_EXAMPLES
from .forms import WEEKDAYS, PreferencesForm
from .models import Subscriber, known_time_zones
from .views import TokenView, require_page_methods, subscriber_view

log = logging.getLogger(__name__)
# The page lists the newest feedback only; the data download has all of it.
FEEDBACK_SHOWN = 30


def post_or_page(page: str, anchor: str = "") -> Callable[[TokenView], TokenView]:
    """A view that acts on POST only; a GET or HEAD goes to the page its form is on.

    A plain form's answer stays at the address it was posted to (pasted papers without
    JavaScript): reloaded, bookmarked or opened again, that address shows the page the
    form was on (`page`, at `anchor`) instead of an empty "405 Method Not Allowed"."""

    def decorate(view: TokenView) -> TokenView:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            if request.method in ("GET", "HEAD"):
                return redirect(reverse(f"subscriptions:{page}", args=[token]) + anchor)
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, token)

        return wrapper

    return decorate


@cache
def time_zones() -> list[str]:
    """The IANA zones to offer, sorted: "Region/City" names without the old country
    aliases (US/Pacific, Canada/Eastern ...). Any known zone is still accepted."""
    legacy = (
        "posix/",
        "right/",
        "SystemV/",
        "Etc/",
        "US/",
        "Canada/",
        "Brazil/",
        "Mexico/",
        "Chile/",
    )
    return sorted(z for z in known_time_zones() if "/" in z and not z.startswith(legacy)) + ["UTC"]


def _zones_with(current: str | None) -> list[str]:
    zones = time_zones()
    return zones if not current or current in zones else [current, *zones]


def _category_groups(chosen: list[str]) -> list[dict[str, Any]]:
    chosen_set = set(chosen)
    return [
        {
            "code": group.code,
            "name": group.name,
            "open": any(code in chosen_set for code, _ in group.categories),
            "count": sum(1 for code, _ in group.categories if code in chosen_set),
            "categories": [
                {"code": code, "name": name, "checked": code in chosen_set}
                for code, name in group.categories
            ],
        }
        for group in categories.GROUPS
    ]


def _page(request, subscriber: Subscriber, token: str, form: PreferencesForm, status=200):
    chosen = form["categories"].value() or []
    # Links made here are signed as of this page's own link, so the pages they lead to
    # offer no preferences link that outlives it.
    origin = tokens.signed_at(token)
    context = {
        "subscriber": subscriber,
        "email": display_email(subscriber.email),
        "token": token,
        "form": form,
        "groups": _category_groups(chosen),
        "weekdays": WEEKDAYS,
        "unsubscribe_token": tokens.make_token(subscriber, tokens.Purpose.UNSUBSCRIBE, at=origin),
        "resubscribe_token": tokens.undo_token(subscriber, origin),
        "feedback": selectors.feedback_list(subscriber, limit=FEEDBACK_SHOWN + 1),
        "feedback_shown": FEEDBACK_SHOWN,
        "max_examples": MAX_EXAMPLES,
        "saved": request.GET.get("saved") == "1",
        "hours": range(24),
        "time_zones": _zones_with(form["time_zone"].value()),
    }
    return render(request, "subscriptions/preferences.html", context, status=status)


@require_page_methods
@subscriber_view(tokens.Purpose.PREFERENCES)
def preferences(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST":
        # The saved values as `initial`: a choice that comes back mangled shows them again.
        form = PreferencesForm(request.POST, initial=PreferencesForm.initial_for(subscriber))
        if form.is_valid():
            services.subscriber_update_preferences(subscriber, form.cleaned_data)
            url = reverse("subscriptions:preferences", args=[token])
            return redirect(f"{url}?saved=1#top", permanent=False)
        return _page(request, subscriber, token, form, status=400)
    form = PreferencesForm(initial=PreferencesForm.initial_for(subscriber))
    return _page(request, subscriber, token, form)


@post_or_page("preferences", "#preview-title")
@subscriber_view(tokens.Purpose.PREFERENCES)
def preview(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """ "Your digest if it were sent now", for the form as it stands; saves nothing."""
    form = PreferencesForm(request.POST)
    context: dict[str, Any] = {
        "form": form,
        "picks": [],
        "sent_before": False,
        "unavailable": False,
    }
    if form.is_valid():
        # The ranking looks at the frequency for its window; the object is never saved.
        subscriber.frequency = form.cleaned_data["frequency"]
        try:
            # After a digest its papers are not picked again: "nothing new matches" is not
            # "nothing matches", and "try broader keywords" would send people the wrong way.
            context["picks"], context["sent_before"] = previews.preview_with_sent(
                subscriber, form.interest_overrides()
            )
        except Exception:  # noqa: BLE001 - a broken preview must not break the page.
            log.exception("preview failed for subscriber %s", subscriber.pk)
            context["unavailable"] = True
    return render(request, "subscriptions/_preview.html", context)


@post_or_page("preferences", "#data-title")
@subscriber_view(tokens.Purpose.PREFERENCES)
def my_data(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """Everything we hold about the subscriber, as a JSON download."""
    data = {"exported_at": timezone.now().isoformat(), **selectors.subscriber_export(subscriber)}
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="paperboy-my-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_page_methods
@subscriber_view(tokens.Purpose.PREFERENCES)
def delete(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        services.subscriber_delete(subscriber)
        return render(request, "subscriptions/deleted.html")
    missing = request.method == "POST"
    context = {"token": token, "missing_confirm": missing}
    return render(request, "subscriptions/delete.html", context, status=400 if missing else 200)
