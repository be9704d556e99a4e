"""Papers as interests: a few papers to answer "yes, like this" / "not for me", and pasted
examples. Plain forms that work without JavaScript; with htmx they answer in place.

Every view takes the expiring preferences token; changes are POSTs with CSRF.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from digest.ranking.types import SUGGESTION_FLOOR
from digest.selectors import top_papers

from . import ratelimits, services, tokens
from .examples import MAX_EXAMPLES, examples_add, pasted_text
from .models import Feedback, Subscriber
from .views import bad_link, subscriber_for

log = logging.getLogger(__name__)
# Papers offered at a time: enough to say what one means, few enough to answer.
SUGGESTED = 6
# After this many answers, all "not for me", the page asks for a paper they like instead.
ONLY_NOES = 4
# Up to this many answers the learner is refitted in the request (tens of milliseconds);
# beyond, a fit reads hundreds of papers and the queued refit does it off the request.
REFIT_IN_REQUEST = 200


def _answers(subscriber: Subscriber) -> dict[str, int]:
    """The subscriber's answers so far: arXiv id -> signal."""
    return dict(
        Feedback.objects.filter(subscriber=subscriber).values_list("paper__arxiv_id", "signal")
    )


def _suggestions(subscriber: Subscriber, answers: dict[str, int]) -> list[dict]:
    """Papers the current interests pick (trending ones for an empty profile), not yet
    answered; [] when the ranking cannot run (the page still works).

    Closest first, even below the relevance a digest needs (SUGGESTION_FLOOR): two "yes"
    answers on a small day may leave nothing worth a digest, and the papers nearest to
    them still say more than trending ones."""
    from digest.delivery.previews import preview_picks  # the delivery layer, on demand

    try:
        picked = preview_picks(subscriber, floor=SUGGESTION_FLOOR)[:SUGGESTED]
    except Exception:  # noqa: BLE001 - a broken suggestion list must not break the page
        log.exception("suggestions failed for subscriber %s", subscriber.pk)
        picked = []
    # Too few picks say little: fill up with trending papers the subscriber has not answered.
    shown = {p["arxiv_id"] for p in picked} | set(answers)
    for paper in top_papers(limit=SUGGESTED + len(shown)):
        if len(picked) >= SUGGESTED:
            break
        if paper["arxiv_id"] not in shown:
            picked.append({**paper, "reason": f"trending · {paper['upvotes']} upvotes"})
    return picked


def _shared_terms(subscriber: Subscriber) -> dict[str, list[dict]]:
    """What the "yes" papers share (terms, topics), as the reading under the description
    offers it; nothing when the ranking cannot run (the page still works)."""
    from digest.delivery.previews import shared_terms  # the delivery layer, on demand

    try:
        return shared_terms(subscriber)
    except Exception:  # noqa: BLE001 - a broken list of terms must not break the page
        log.exception("shared terms failed for subscriber %s", subscriber.pk)
        return {"terms": [], "topics": []}


def _only_noes(answers: dict[str, int]) -> bool:
    """Every answer so far "not for me", and enough of them: the papers shown miss what the
    subscriber means, and one paper they like would say more than more noes."""
    return len(answers) >= ONLY_NOES and all(signal < 0 for signal in answers.values())


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
def suggestions(request: HttpRequest, token: str) -> HttpResponse:
    """The onboarding step (after confirming) and the preferences page's list."""
    try:
        subscriber, _ = subscriber_for(token, tokens.Purpose.PREFERENCES)
    except tokens.BadToken as exc:
        return bad_link(request, exc)
    answers = _answers(subscriber)
    if 0 < len(answers) <= REFIT_IN_REQUEST:
        services.learner_catch_up(subscriber)
    context = {
        "token": token,
        "subscriber": subscriber,
        "papers": _suggestions(subscriber, answers),
        "max_examples": MAX_EXAMPLES,
        "only_noes": _only_noes(answers),
    }
    if _htmx(request):  # the list alone, as the preferences page loads it
        return render(request, "subscriptions/_suggestions.html", context)
    context["shared_terms"] = _shared_terms(subscriber)
    return render(request, "subscriptions/suggestions.html", context)


@require_POST
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """ "Yes, like this" (signal 1) or "not for me" (-1) on one paper."""
    try:
        subscriber, _ = subscriber_for(token, tokens.Purpose.PREFERENCES)
    except tokens.BadToken as exc:
        return bad_link(request, exc)
    arxiv_id = request.POST.get("arxiv_id", "")[:40]
    try:
        signal = int(request.POST.get("signal", ""))
    except ValueError:
        signal = 0
    recorded = services.feedback_record(subscriber, arxiv_id, signal)
    if _htmx(request):
        context = {
            "token": token,
            "feedback": recorded,
            "arxiv_id": arxiv_id,
            "only_noes": _only_noes(_answers(subscriber)),
            "shared_terms": _shared_terms(subscriber),
        }
        # htmx swaps 2xx answers only: the fragment itself says what went wrong.
        return render(request, "subscriptions/_answered.html", context)
    back = request.POST.get("next") == "suggestions"
    url = reverse(f"subscriptions:{'suggestions' if back else 'preferences'}", args=[token])
    return redirect(url + ("" if back else "#feedback"))


@require_POST
def examples(request: HttpRequest, token: str) -> HttpResponse:
    """ "Papers I like": arXiv ids or links, each recorded as "more like this"."""
    try:
        subscriber, _ = subscriber_for(token, tokens.Purpose.PREFERENCES)
    except tokens.BadToken as exc:
        return bad_link(request, exc)
    text = pasted_text(request.POST.get("examples", ""))
    limited = ratelimits.ip_limited(request, "examples") or ratelimits.subscriber_limited(
        request, "examples", subscriber.pk
    )
    result = None if limited else examples_add(subscriber, text)
    if result is None:
        problem, status = True, 429
    else:
        accepted = bool(result.liked or result.pending)  # now, or once arXiv answers
        problem = not accepted or bool(
            result.bad or result.impossible or result.unknown or result.refused or result.over
        )
        status = 200 if accepted else 400
    context = {
        "token": token,
        "subscriber": subscriber,
        "result": result,
        "limited": limited,
        "text": text if problem else "",
        "max_examples": MAX_EXAMPLES,
        "liked_count": Feedback.objects.filter(subscriber=subscriber, signal=1).count(),
    }
    if _htmx(request):  # 200 whatever happened: htmx swaps 2xx answers only
        return render(request, "subscriptions/_examples.html", context)
    context["papers"] = _suggestions(subscriber, _answers(subscriber))
    context["shared_terms"] = _shared_terms(subscriber)
    return render(request, "subscriptions/suggestions.html", context, status=status)
