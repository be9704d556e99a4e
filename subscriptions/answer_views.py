"""Papers as interests: a few papers to answer "yes, like this" / "not for me", and pasted
examples. Plain forms that work without JavaScript; with htmx they answer in place.

Every view takes the expiring preferences token, checked by `subscriber_view` as on the
preferences page; changes are POSTs with CSRF.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from digest.models import Paper
from digest.ranking.types import SUGGESTION_FLOOR
from digest.selectors import top_papers

from . import ratelimits, selectors, services, tokens
from .examples import MAX_EXAMPLES, examples_add_pasted
from .models import Feedback, Interest, Subscriber
from .preference_views import FEEDBACK_SHOWN, post_or_page
from .views import subscriber_view

log = logging.getLogger(__name__)
# Papers offered at a time, whatever the digest's size: what the learner gets from answers
# grows with their number (bench/onboarding_split.py: a second page of ten lifts the next
# digest more than any way of ordering one page), and ten is what the simulation answers.
SUGGESTED = 10
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
        picked = preview_picks(subscriber, {"paper_limit": SUGGESTED}, floor=SUGGESTION_FLOOR)
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


def _only_noes_hint(subscriber: Subscriber, answers: dict[str, int]) -> dict[str, bool]:
    """For _only_noes.html: whether to ask for a paper they like, and whether there is a
    description whose reading it can point to (without one, it asks for one instead)."""
    only_noes = _only_noes(answers)
    described = (
        only_noes
        and Interest.objects.filter(subscriber=subscriber).exclude(description="").exists()
    )
    return {"only_noes": only_noes, "described": described}


def _noted(subscriber: Subscriber, arxiv_id: str) -> Feedback | None:
    """The answer just given on this paper without JavaScript, to say so on the page."""
    if not arxiv_id:
        return None
    answers = Feedback.objects.filter(subscriber=subscriber, paper__arxiv_id=arxiv_id[:40])
    return answers.select_related("paper").first()


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _signal(value: str | None) -> int | None:
    """1 ("yes, like this") or -1 ("not for me") as a form sends it; None for anything else."""
    try:
        signal = int(value or "")
    except ValueError:
        return None
    return signal if signal in Feedback.Signal.values else None


def _on_page(request: HttpRequest) -> str:
    """The page a form with htmx is on, as its `next` field says: "preferences" (the
    preferences page's list of papers, or "feedback", its list of answers) or
    "suggestions" (the papers step)."""
    return (
        "preferences" if request.POST.get("next") in ("preferences", "feedback") else "suggestions"
    )


def _back(token: str, request: HttpRequest, noted: str = "") -> HttpResponse:
    """Without JavaScript, back to the page the form was on. On the papers step, an answer
    (`noted`, its arXiv id) comes back to the list, where a line says what was noted: the
    list is picked again, and the paper answered is no longer in it."""
    if request.POST.get("next") == "suggestions":
        papers_step = reverse("subscriptions:suggestions", args=[token])
        if noted:
            return redirect(f"{papers_step}?{urlencode({'noted': noted})}#answer-title")
        return redirect(papers_step)
    return redirect(reverse("subscriptions:preferences", args=[token]) + "#feedback")


def _what_answers_change(subscriber: Subscriber, on_page: str) -> dict:
    """What the page shows of the answers, for _answers_changed.html: the list of feedback
    on the preferences page; the ask for a paper they like and the shared terms on the
    papers step."""
    if on_page == "preferences":
        feedback = selectors.feedback_list(subscriber, limit=FEEDBACK_SHOWN + 1)
        return {"feedback": feedback, "feedback_shown": FEEDBACK_SHOWN}
    return {
        **_only_noes_hint(subscriber, _answers(subscriber)),
        "shared_terms": _shared_terms(subscriber),
    }


def _in_place(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """An htmx answer; 200 whatever happened (htmx swaps 2xx answers only)."""
    response = render(request, template, context)
    if context["on_page"] == "preferences":
        # The reading's terms the "yes" papers share, and the preview, follow the answers.
        response["HX-Trigger"] = "answers-changed"
    return response


@require_safe  # GET, and HEAD as link checkers send it
@subscriber_view(tokens.Purpose.PREFERENCES)
def suggestions(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """The onboarding step (after confirming) and the preferences page's list."""
    answers = _answers(subscriber)
    if 0 < len(answers) <= REFIT_IN_REQUEST:
        services.learner_catch_up(subscriber)
    context: dict[str, Any] = {
        "token": token,
        "subscriber": subscriber,
        "papers": _suggestions(subscriber, answers),
        "max_examples": MAX_EXAMPLES,
        **_only_noes_hint(subscriber, answers),
        "on_page": "suggestions",
        "noted": _noted(subscriber, request.GET.get("noted", "")),
    }
    if _htmx(request):  # the list alone, as the preferences page loads it
        context["on_page"] = "preferences"
        return render(request, "subscriptions/_suggestions.html", context)
    context["shared_terms"] = _shared_terms(subscriber)
    return render(request, "subscriptions/suggestions.html", context)


@post_or_page("suggestions")
@subscriber_view(tokens.Purpose.PREFERENCES)
def answer(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """ "Yes, like this" (signal 1) or "not for me" (-1) on one paper."""
    arxiv_id = request.POST.get("arxiv_id", "")[:40]
    signal = _signal(request.POST.get("signal")) or 0  # 0: refused as no answer
    answered = services.feedback_record(subscriber, arxiv_id, signal)
    if not _htmx(request):
        return _back(token, request, noted=arxiv_id if answered else "")
    on_page = _on_page(request)
    context = {
        "token": token,
        "answered": answered.feedback if answered else None,
        # What Undo puts back: the answer this one replaced, if it was another.
        "previous": answered.replaced if answered else None,
        "on_page": on_page,
        **_what_answers_change(subscriber, on_page),
    }
    return _in_place(request, "subscriptions/_answered.html", context)


@post_or_page("preferences", "#feedback")
@subscriber_view(tokens.Purpose.PREFERENCES)
def feedback_undo(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """Takes an answer back; with `previous`, the answer it replaced is put back instead.

    `previous` comes from the form unsigned: it can only set the token holder's own answer
    on that paper to "more" or "fewer", which the answer view does for them anyway."""
    arxiv_id = request.POST.get("arxiv_id", "")[:40]
    services.feedback_undo(subscriber, arxiv_id, restore=_signal(request.POST.get("previous")))
    if not _htmx(request):
        return _back(token, request)
    on_page = _on_page(request)
    context = {"token": token, "on_page": on_page, **_what_answers_change(subscriber, on_page)}
    restored = (
        Feedback.objects.filter(subscriber=subscriber, paper__arxiv_id=arxiv_id)
        .select_related("paper")
        .first()
    )
    paper = restored.paper if restored else Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper and request.POST.get("next") == "feedback":  # said in the list it was undone in
        context["undone"] = paper.title_text
    if restored or paper is None:  # the answer put back, or a paper we no longer have
        return _in_place(request, "subscriptions/_answered.html", {**context, "answered": restored})
    # Offered again, to answer otherwise.
    context["p"] = {
        "arxiv_id": paper.arxiv_id,
        "title": paper.title_text,
        "authors": list(paper.authors),
        "abs_url": paper.get_absolute_url(),
    }
    return _in_place(request, "subscriptions/_undone.html", context)


@post_or_page("suggestions", "#examples")
@subscriber_view(tokens.Purpose.PREFERENCES)
def examples(request: HttpRequest, token: str, subscriber: Subscriber) -> HttpResponse:
    """ "Papers I like": arXiv ids or links, each recorded as "more like this"."""
    text = request.POST.get("examples", "")
    on_page = _on_page(request)
    limited = ratelimits.ip_limited(request, "examples") or ratelimits.subscriber_limited(
        request, "examples", subscriber.pk
    )
    # What is left to mend or to add comes back in the box: not the papers added.
    result, text = (None, text) if limited else examples_add_pasted(subscriber, text)
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
        "on_page": on_page,
    }
    if _htmx(request):
        if result is not None and result.liked:  # answers now: the page shows them
            context.update(_what_answers_change(subscriber, on_page))
            return _in_place(request, "subscriptions/_examples_pasted.html", context)
        return render(request, "subscriptions/_examples.html", context)
    context["on_page"] = "suggestions"
    context["papers"] = _suggestions(subscriber, _answers(subscriber))
    context["shared_terms"] = _shared_terms(subscriber)
    return render(request, "subscriptions/suggestions.html", context, status=status)
