"""Everything that changes a subscriber: sign-up, confirmation, preferences, leaving."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from digest.mail.messages import build_email
from digest.models import Delivery, Paper

from . import categories, selectors, tokens
from . import learners as learning
from .addresses import normalise_email
from .interests import MAX_KEYWORD_LENGTH, MAX_KEYWORDS, normalise_keyword
from .learners import learner_refit_soon
from .models import Feedback, Interest, Subscriber

if TYPE_CHECKING:
    from digest.ranking.semantic import Encoder

log = logging.getLogger(__name__)


def subscriber_sign_up(
    email: str,
    *,
    time_zone: str = "UTC",
    categories: list[str] | None = None,
    keywords: list[str] | None = None,
) -> Subscriber:
    """Creates a pending subscriber (or finds the existing one) and mails the confirm link
    (an active subscriber: their preferences link).

    A known address gets the same answer as a new one, so it never tells anyone who
    subscribes; what differs is in the mail, which only the address's owner reads. Topics
    are taken only while nobody has confirmed the address (the latest sign-up's): typing a
    subscriber's address must not change their interests, nor can anyone fix junk topics
    on an address before its owner signs up. The mail lists the typed topics left out.
    """
    email = normalise_email(email)
    subscriber = Subscriber.objects.filter(email__iexact=email).first()
    not_applied: dict = {}
    if subscriber is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(email=email, time_zone=time_zone)
                Interest.objects.create(
                    subscriber=subscriber,
                    categories=list(categories or []),
                    keywords=list(keywords or []),
                )
        except IntegrityError:
            subscriber = Subscriber.objects.get(email__iexact=email)
    elif subscriber.status == Subscriber.Status.PENDING and subscriber.confirmed_at is None:
        _first_topics_again(subscriber, time_zone, categories or [], keywords or [])
    elif subscriber.status != Subscriber.Status.BOUNCED:
        # Not silently dropped: the mail lists them, for the owner to add if they want them.
        not_applied = selectors.topics_not_held(subscriber, categories or [], keywords or [])
    send_confirmation(subscriber, not_applied)
    return subscriber


def _first_topics_again(
    subscriber: Subscriber, time_zone: str, categories: list[str], keywords: list[str]
) -> None:
    """A sign-up before the first was confirmed: its time zone and topics (if any) count."""
    Subscriber.objects.filter(pk=subscriber.pk).update(time_zone=time_zone)
    subscriber.time_zone = time_zone
    if categories or keywords:
        first = Interest.objects.filter(subscriber=subscriber)
        first.update(categories=categories, keywords=keywords)


def send_confirmation(subscriber: Subscriber, not_applied: dict | None = None) -> None:
    """Mails the confirm link; an active subscriber, who has nothing to confirm, is told
    they are subscribed and given their preferences link instead. `not_applied`: the
    topics a sign-up typed that were not applied (selectors.topics_not_held).

    A suppressed address gets nothing: its status is read here, as the database has it
    now, since a bounce or a complaint may have come since the caller read `subscriber`."""
    status = Subscriber.objects.filter(pk=subscriber.pk).values_list("status", flat=True).first()
    if status in (None, Subscriber.Status.BOUNCED):
        return
    context = {
        "site_name": settings.SITE_NAME,
        "not_applied": not_applied or {"categories": [], "keywords": ""},
    }
    if status == Subscriber.Status.ACTIVE:
        context["preferences_url"] = tokens.preferences_url(subscriber)
        build_email("already_subscribed", subscriber.email, context).send()
        return
    context["confirm_url"] = tokens.confirm_url(subscriber)
    context["expires_days"] = max(1, settings.CONFIRM_TOKEN_MAX_AGE // 86400)
    build_email("confirm", subscriber.email, context).send()


def subscriber_request_link(email: str) -> None:
    """Mails a preferences link if we know the address; says nothing either way."""
    subscriber = Subscriber.objects.filter(email__iexact=normalise_email(email)).first()
    if subscriber is None or subscriber.status == Subscriber.Status.BOUNCED:
        return
    pending = subscriber.status == Subscriber.Status.PENDING
    context = {
        "site_name": settings.SITE_NAME,
        "preferences_url": tokens.preferences_url(subscriber),
        "confirm_url": tokens.confirm_url(subscriber) if pending else "",
        "status": subscriber.status,
    }
    build_email("link", subscriber.email, context).send()


def subscriber_confirm(subscriber: Subscriber) -> Subscriber:
    """Starts the digest of a pending or unsubscribed address, as the database has it now:
    an address suppressed meanwhile (a bounce while the page was open) stays suppressed."""
    Subscriber.objects.filter(
        pk=subscriber.pk, status__in=[Subscriber.Status.PENDING, Subscriber.Status.UNSUBSCRIBED]
    ).update(status=Subscriber.Status.ACTIVE, confirmed_at=timezone.now(), unsubscribed_at=None)
    subscriber.refresh_from_db()
    return subscriber


def subscriber_unsubscribe(subscriber: Subscriber) -> bool:
    """Records that the subscriber wants no more mail; True only for the call that did.

    The change is conditional on the row as it is now, not as `subscriber` was read, so
    of two presses at the same moment only one is told it unsubscribed (and offered the
    undo). A suppressed subscriber stays suppressed (their old mail's link must not lift
    what a bounce, a complaint or staff set); the unsubscribe is kept beside it, so that
    staff lifting the suppression do not resume mail to them
    (suppressions.subscribers_unsuppress). `subscriber` is refreshed either way.
    """
    now = timezone.now()
    mailed = [Subscriber.Status.PENDING, Subscriber.Status.ACTIVE]
    left = Subscriber.objects.filter(pk=subscriber.pk, status__in=mailed).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=now
    )
    if not left:
        left = Subscriber.objects.filter(
            pk=subscriber.pk, status=Subscriber.Status.BOUNCED, unsubscribed_at=None
        ).update(unsubscribed_at=now)
    subscriber.refresh_from_db()
    return bool(left)


def subscriber_resubscribe(subscriber: Subscriber) -> Subscriber:
    """Undoes an unsubscribe made with the same link.

    Someone who confirmed before comes straight back; an address that never confirmed
    gets the confirmation mail again, and a suppressed address stays suppressed: only
    staff lift a suppression (suppressions.subscribers_unsuppress).
    """
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED and subscriber.confirmed_at:
        Subscriber.objects.filter(pk=subscriber.pk, status=Subscriber.Status.UNSUBSCRIBED).update(
            status=Subscriber.Status.ACTIVE, unsubscribed_at=None
        )
        subscriber.refresh_from_db()
    elif subscriber.status in (Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.PENDING):
        send_confirmation(subscriber)
    return subscriber


PREFERENCE_FIELDS = ("paper_limit", "frequency", "weekday", "send_hour", "time_zone", "empty_day")
INTEREST_FIELDS = ("categories", "keywords", "authors", "description")


@transaction.atomic
def subscriber_update_preferences(subscriber: Subscriber, data: dict) -> Subscriber:
    """Saves validated preferences (a PreferencesForm's cleaned data)."""
    for name in PREFERENCE_FIELDS:
        setattr(subscriber, name, data[name])
    subscriber.save(update_fields=list(PREFERENCE_FIELDS))
    interest, _ = Interest.objects.get_or_create(subscriber=subscriber)
    text = learning.interest_text(interest)
    for name in INTEREST_FIELDS:
        setattr(interest, name, data[name])
    interest_save(interest)
    if learning.interest_text(interest) != text and subscriber.feedback.exists():
        learner_refit_soon(subscriber.pk)  # the prior changed
    return subscriber


# Dropped terms a subscriber may hold, and the longest one kept.
MAX_DROPPED_TERMS = 50
MAX_DROPPED_LENGTH = 100


class InterestFull(ValueError):
    """A list of the interests is at its limit; nothing was added."""


def _interest_for(subscriber: Subscriber) -> Interest:
    interest, _ = Interest.objects.select_for_update().get_or_create(subscriber=subscriber)
    return interest


@transaction.atomic
def interest_keep_term(subscriber: Subscriber, term: str) -> bool:
    """Appends a term of the description's reading to the keywords ("keep"), as the
    preferences form saves keywords; False when it was one already. A term that was
    dropped is restored: keeping it says it counts."""
    return _keywords_keep(subscriber, [term.strip().lstrip("-")])


def _keywords_keep(subscriber: Subscriber, terms: Iterable[str]) -> bool:
    """Appends the terms not yet among the keywords; False when none was new. Dropped terms
    among them are restored. InterestFull, adding nothing, past the keywords' limits."""
    keywords = [k for k in dict.fromkeys(map(normalise_keyword, terms)) if k]
    if not keywords:
        return False
    interest = _interest_for(subscriber)
    text = learning.interest_text(interest)
    known = {k.lower() for k in interest.keywords}
    added = [k for k in keywords if k.lower() not in known]
    too_long = any(len(k) > MAX_KEYWORD_LENGTH for k in added)
    if added and (len(interest.keywords) + len(added) > MAX_KEYWORDS or too_long):
        raise InterestFull(f"{MAX_KEYWORDS} keywords at most, each under {MAX_KEYWORD_LENGTH}.")
    restored = {k.lower() for k in keywords}
    interest.keywords = [*interest.keywords, *added]
    interest.dropped_terms = [t for t in interest.dropped_terms if t.lower() not in restored]
    interest_save(interest, update_fields=["keywords", "dropped_terms"])
    if added and learning.interest_text(interest) != text and subscriber.feedback.exists():
        learner_refit_soon(subscriber.pk)  # the prior changed
    return bool(added)


@transaction.atomic
def interest_drop_term(subscriber: Subscriber, term: str) -> bool:
    """Drops a term from the reading of the description: it stops counting in the
    ranking (digest.ranking.dropping). False when it was dropped already."""
    interest = _interest_for(subscriber)
    term = " ".join(term.split())
    if not term or term.lower() in {t.lower() for t in interest.dropped_terms}:
        return False
    if len(interest.dropped_terms) >= MAX_DROPPED_TERMS or len(term) > MAX_DROPPED_LENGTH:
        raise InterestFull(f"{MAX_DROPPED_TERMS} dropped terms at most.")
    interest.dropped_terms = [*interest.dropped_terms, term]
    interest_save(interest, update_fields=["dropped_terms"])
    learner_refit_soon(subscriber.pk)  # the prior changed
    return True


@transaction.atomic
def interest_restore_term(subscriber: Subscriber, term: str) -> bool:
    """Undoes a drop: the term counts again. False when it was not dropped."""
    interest = _interest_for(subscriber)
    kept = [t for t in interest.dropped_terms if t.lower() != " ".join(term.split()).lower()]
    if len(kept) == len(interest.dropped_terms):
        return False
    interest.dropped_terms = kept
    interest_save(interest, update_fields=["dropped_terms"])
    learner_refit_soon(subscriber.pk)  # the prior changed
    return True


@transaction.atomic
def interest_follow_topic(subscriber: Subscriber, name: str) -> bool:
    """Adds a glossary topic's keywords (digest.ranking.glossary.topic_keywords) to the
    keywords, as keep adds one term; False when the topic is unknown or all of them were."""
    from digest.ranking import glossary  # numpy and the glossary file: loaded on a follow

    topic = glossary.topic_named(name.strip())
    return topic is not None and _keywords_keep(subscriber, topic.keywords)


@transaction.atomic
def interest_follow_category(subscriber: Subscriber, code: str) -> bool:
    """Adds an arXiv category the reading found to the followed ones; False when it was
    followed already or is not a category we know."""
    interest = _interest_for(subscriber)
    if not categories.is_known(code) or code in interest.categories:
        return False
    interest.categories = [*interest.categories, code]
    interest_save(interest, update_fields=["categories"])
    return True


def interest_save(interest: Interest, *, update_fields: Iterable[str] | None = None) -> Interest:
    """Saves an interest, encoding its description when it changed or its stored vector is
    from another model; saving keywords or a time zone never loads the encoder."""
    from digest.ranking import semantic  # numpy: loaded by a save, not by every process

    fields = None if update_fields is None else set(update_fields)
    if (fields is None or "description" in fields) and _description_vector_is_stale(interest):
        interest.description_vector, interest.description_model = semantic.describe(
            interest.description
        )
        if fields is not None:
            fields |= {"description_vector", "description_model"}
    interest.save(update_fields=fields)
    interest.description_as_saved = interest.description
    # The day's picks may have changed: a day decided empty is decided again.
    Delivery.reopen_empty_days([interest.subscriber_id], timezone.now())
    return interest


def interests_with_stale_vectors(encoder: Encoder) -> QuerySet[Interest]:
    """The descriptions saved without a vector, or with another model's."""
    return (
        Interest.objects.exclude(description="")
        .exclude(description_model=encoder.model_id)
        .only("pk", "description")
        .order_by("pk")
    )


def interests_encode_stale(
    encoder: Encoder, *, batch: int = 256, on_batch: Callable[[int], None] | None = None
) -> int:
    """Stores the vector of every description saved without one (or with another
    model's), `batch` at a time; returns how many were encoded. `on_batch` hears how
    many each batch encoded (a progress bar)."""
    from digest.ranking import semantic  # numpy: loaded by a save, not by every process

    stale = interests_with_stale_vectors(encoder)
    done = 0
    pending = list(stale[:batch])
    while pending:
        vectors = encoder.encode([i.description.strip() for i in pending])
        for interest, vector in zip(pending, vectors, strict=True):
            interest.description_vector = semantic.to_bytes(vector)
            interest.description_model = encoder.model_id
        Interest.objects.bulk_update(pending, ["description_vector", "description_model"])
        done += len(pending)
        if on_batch is not None:
            on_batch(len(pending))
        pending = list(stale.filter(pk__gt=pending[-1].pk)[:batch])
    return done


def _description_vector_is_stale(interest: Interest) -> bool:
    from digest.ranking import semantic  # numpy: loaded by a save, not by every process

    unchanged = interest.description == interest.description_as_saved
    return not (unchanged and interest.description_model == semantic.MODEL_ID)


@dataclass(frozen=True)
class Answered:
    """An answer stored, and the other answer it replaced: what its Undo puts back
    (feedback_undo's `restore`); None when there was none, or the same one."""

    feedback: Feedback
    replaced: int | None


@transaction.atomic  # the answer, what it replaced, and its refit request together
def feedback_record(subscriber: Subscriber, arxiv_id: str, signal: int) -> Answered | None:
    """Stores "more" or "fewer like this"; a second click on the other button changes it.

    Returns None when the paper is not (or no longer) in our database.
    """
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper is None or signal not in Feedback.Signal.values:
        return None
    answers = Feedback.objects.select_for_update().filter(subscriber=subscriber, paper=paper)
    before = answers.values_list("signal", flat=True).first()
    feedback, _ = Feedback.objects.update_or_create(
        subscriber=subscriber, paper=paper, defaults={"signal": signal}
    )
    learner_refit_soon(subscriber.pk)
    Delivery.reopen_empty_days([subscriber.pk], timezone.now())
    return Answered(feedback, replaced=before if before == -signal else None)


def learner_catch_up(subscriber: Subscriber) -> None:
    """Refits the subscriber's learner now if their answers or interests changed since its
    fit: the papers step shows the next papers with every answer given so far, not after
    the queued refit (which then finds nothing to do). A failure is logged: the papers are
    then picked as before, and the queued refit tries again."""
    try:
        learning.learners_refit([subscriber.pk])
    except Exception:  # noqa: BLE001 - picking papers must not depend on the learner
        log.exception("learner refit for subscriber %s failed", subscriber.pk)


@transaction.atomic  # the undone answer and its refit request together
def feedback_undo(subscriber: Subscriber, arxiv_id: str, restore: int | None = None) -> int:
    """Takes an answer back: forgets it, or with `restore` (a signal) puts back the answer
    it replaced ("fewer" before a "more like this"). Returns how many answers changed;
    a restore never brings back an answer undone meanwhile."""
    answers = Feedback.objects.filter(subscriber=subscriber, paper__arxiv_id=arxiv_id)
    if restore in Feedback.Signal.values:
        changed = answers.update(signal=restore)
    else:
        changed, _ = answers.delete()
    if changed:
        learner_refit_soon(subscriber.pk)
    return changed


def subscriber_delete(subscriber: Subscriber) -> None:
    """Forgets the subscriber: interests, feedback and deliveries go with them (CASCADE)."""
    subscriber.delete()
