"""Fitting and storing each subscriber's learner (digest.ranking.learner) as answers change.

A "more like this", a "not for me", a pasted example or a changed description calls
`learner_refit_soon`: it records a `RefitRequest` in the same transaction and queues one
task for everyone who changes something within `LEARNER_REFIT_DELAY` seconds (later
clicks, theirs or other subscribers', ride along), on the send queue, whose workers hold the
encoder and the machine's store of paper vectors. That task (`refit_requested_learners`)
refits the waiting subscribers `REFIT_BATCH` at a time (a fit in a batch costs a third of a
fit alone), the first batch itself and the others as tasks of their own, spread over the
send workers; the beat runs it every 10 minutes too, for any request whose task was lost.
A refit skips the learners whose answers and interests' text are unchanged since their
last fit (a hash of both), so a repeated refit costs a few queries.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from scipy import sparse

from digest.models import Delivery, Paper
from digest.ranking import semantic
from digest.ranking.learner import (
    Background,
    LearnerConfig,
    from_bytes,
    learner_fit,
    learner_rows,
    paper_rows,
    prior_words,
    to_bytes,
)
from digest.ranking.types import LearnerWeights

from .models import Feedback, Interest, Learner, RefitRequest, Subscriber

log = logging.getLogger(__name__)

CONFIG = LearnerConfig()
# Subscribers refitted in one call: the batch of `manage.py refit_learners` and of a task.
REFIT_BATCH = 500
_BACKGROUND: dict[tuple, Background] = {}
_BACKGROUND_LOCK = threading.Lock()


def model_id(config: LearnerConfig = CONFIG) -> str:
    return f"{semantic.MODEL_ID}/{config.features}/svm-words"


def interest_text(interest: Interest | None) -> str:
    """What the prior encodes: the description, else the wanted keywords."""
    if interest is None:
        return ""
    if interest.description.strip():
        return interest.description.strip()
    return ", ".join(k for k in interest.keywords if not k.startswith("-"))


def dropped_terms(interest: Interest | None) -> list[str]:
    """The terms the subscriber dropped from the reading of their description."""
    return sorted(interest.dropped_terms) if interest is not None else []


def signature(answers: Iterable[tuple[int, int]], text: str, config: LearnerConfig) -> str:
    digest = hashlib.sha256(model_id(config).encode())
    for paper_id, signal in sorted(answers):
        digest.update(f"{paper_id}:{signal};".encode())
    digest.update(text.encode())
    return digest.hexdigest()


def _prior_key(interest: Interest | None) -> str:
    """What the prior is made of, for the signature: its text and the dropped terms."""
    return "\x00".join([interest_text(interest), *dropped_terms(interest)])


def learner_refit_soon(subscriber_id: int) -> bool:
    """Records that this subscriber's learner waits for a refit, in the current transaction,
    and queues the task that refits every waiting subscriber after it commits, unless one
    is already waiting; True when this call queued it."""
    from digest import tasks  # tasks import the delivery code, which imports this module

    # One upsert, not update_or_create's locking read then write: every click comes here.
    RefitRequest.objects.bulk_create(
        [RefitRequest(subscriber_id=subscriber_id, requested_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["subscriber"],
        update_fields=["requested_at"],
    )
    delay = settings.LEARNER_REFIT_DELAY
    if not cache.add("learner-refit-requested", 1, timeout=delay):
        return False

    def queue_refit() -> None:
        tasks.refit_requested_learners.apply_async(countdown=delay)

    # As delay_on_commit does, but robust: a broker that is down must not turn a saved
    # answer into an error page (the request is kept: the next task or the sweep does it).
    # A named function, not a partial: Django logs a robust callback's failure by its
    # __qualname__, which a partial lacks (the log call itself would raise).
    transaction.on_commit(queue_refit, robust=True)
    return True


def requested_batches() -> list[list[int]]:
    """The subscribers waiting for a refit, longest waiting first, `REFIT_BATCH` at a time."""
    batch = REFIT_BATCH
    ids = list(
        RefitRequest.objects.order_by("requested_at", "subscriber_id").values_list(
            "subscriber_id", flat=True
        )
    )
    return [ids[a : a + batch] for a in range(0, len(ids), batch)]


def _requests_done(seen: dict[int, datetime]) -> None:
    """Removes the refit requests as `learners_refit` read them; one renewed since (an
    answer recorded while the refit ran) no longer matches and stays for the next refit."""
    pairs = list(seen.items())
    for a in range(0, len(pairs), 100):  # SQLite bounds the depth of an expression
        match = Q()
        for sid, requested_at in pairs[a : a + 100]:
            match |= Q(subscriber_id=sid, requested_at=requested_at)
        RefitRequest.objects.filter(match).delete()


def refit_candidates(subscriber_ids: Sequence[int] = ()) -> tuple[list[int], list[int]]:
    """(the subscribers a refit looks at, the given ids no subscriber has), for the
    command. None given: everyone with answers, and those whose learner outlived their
    last answer (the refit removes it)."""
    if not subscriber_ids:
        answered = Feedback.objects.values_list("subscriber_id", flat=True)
        fitted = Learner.objects.values_list("subscriber_id", flat=True)
        return sorted(set(answered) | set(fitted)), []
    known = set(Subscriber.objects.filter(pk__in=subscriber_ids).values_list("pk", flat=True))
    return sorted(set(subscriber_ids)), sorted(set(subscriber_ids) - known)


def background(encoder: semantic.Encoder, config: LearnerConfig = CONFIG) -> Background | None:
    """The newest papers as the learner reads them, computed once per process for a given
    newest paper."""
    # The ids first: a refit task reads 500 abstracts only when the newest papers changed.
    ids = list(
        Paper.objects.order_by("-id").values_list("id", flat=True)[: config.background_papers]
    )
    if len(ids) < 2:
        return None
    key = (ids[0], len(ids), config.features, config.background_papers)
    with _BACKGROUND_LOCK:
        if key in _BACKGROUND:
            return _BACKGROUND[key]
    texts = Paper.objects.only("title_text", "abstract_text").in_bulk(ids)
    found = Background.of(
        ids,
        paper_rows(encoder, [(texts[i].title_text, texts[i].abstract_text) for i in ids], config),
        len(ids),
    )
    with _BACKGROUND_LOCK:
        _BACKGROUND.clear()
        _BACKGROUND[key] = found
    return found


def learners_refit(subscriber_ids: Sequence[int], *, config: LearnerConfig = CONFIG) -> int:
    """Refits the learners of these subscribers whose answers or interests changed since
    their last fit; removes those of subscribers with no answers left. Returns how many
    learners were written or removed. Their refit requests are done with, unless one was
    renewed meanwhile (or the encoder is missing: they wait for it)."""
    requests = dict(
        RefitRequest.objects.filter(subscriber_id__in=subscriber_ids).values_list(
            "subscriber_id", "requested_at"
        )
    )
    answers, texts = _answers_of(subscriber_ids)
    interests = {
        i.subscriber_id: i for i in Interest.objects.filter(subscriber_id__in=subscriber_ids)
    }
    known = dict(
        Learner.objects.filter(subscriber_id__in=subscriber_ids).values_list(
            "subscriber_id", "signature"
        )
    )
    gone = [sid for sid in known if not answers.get(sid)]
    due = {
        sid: sig
        for sid in subscriber_ids
        if answers.get(sid)
        and (sig := signature(answers[sid], _prior_key(interests.get(sid)), config))
        != known.get(sid)
    }
    if gone:
        Learner.objects.filter(subscriber_id__in=gone).delete()
    if not due:
        _requests_done(requests)
        return len(gone)
    encoder = semantic.encoder()
    base = background(encoder, config) if encoder is not None else None
    if encoder is None or base is None:
        log.warning("learners not refitted: no encoder or too few papers")
        return len(gone)
    papers = sorted({pid for sid in due for pid, _ in answers[sid]})
    vectors = paper_rows(encoder, [texts[pid] for pid in papers], config)
    row = {pid: i for i, pid in enumerate(papers)}
    priors = _prior_vectors(encoder, [interests.get(sid) for sid in due])
    rows = [
        _fitted(sid, sig, answers[sid], interests.get(sid), prior, vectors, row, base, config)
        for (sid, sig), prior in zip(due.items(), priors, strict=True)
    ]
    with transaction.atomic():
        Learner.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["subscriber"],
            update_fields=["weights", "model", "signature", "liked", "disliked", "fitted_at"],
        )
        # Their picks changed: a day decided empty is decided again.
        Delivery.reopen_empty_days(due, timezone.now())
        _requests_done(requests)
    return len(gone) + len(rows)


def _answers_of(
    subscriber_ids: Sequence[int],
) -> tuple[dict[int, list[tuple[int, int]]], dict[int, tuple[str, str]]]:
    """Each subscriber's (paper id, signal) answers, and each answered paper's text."""
    answers: dict[int, list[tuple[int, int]]] = defaultdict(list)
    texts: dict[int, tuple[str, str]] = {}
    for sid, signal, pid, title, abstract in Feedback.objects.filter(
        subscriber_id__in=subscriber_ids
    ).values_list(
        "subscriber_id", "signal", "paper_id", "paper__title_text", "paper__abstract_text"
    ):
        answers[sid].append((pid, signal))
        texts[pid] = (title, abstract)
    return answers, texts


def _fitted(
    sid: int,
    sig: str,
    answers: list[tuple[int, int]],
    interest: Interest | None,
    prior: np.ndarray | None,
    vectors: sparse.csr_matrix,
    row: dict[int, int],
    base: Background,
    config: LearnerConfig,
) -> Learner:
    """One subscriber's learner, fitted on their answers' rows of `vectors` and their
    interests' text (`prior`: its encoder vector, None without a text)."""
    yes = [row[pid] for pid, signal in answers if signal > 0]
    no = [row[pid] for pid, signal in answers if signal < 0]
    words = prior_words(interest_text(interest), dropped_terms(interest))
    prior_row = learner_rows(words, prior) if prior is not None else None
    answered = frozenset(pid for pid, _ in answers)
    weights = learner_fit(vectors[yes], vectors[no], base, prior_row, config, answered)
    return Learner(
        subscriber_id=sid,
        weights=to_bytes(weights),
        model=model_id(config),
        signature=sig,
        liked=len(yes),
        disliked=len(no),
    )


def _prior_vectors(
    encoder: semantic.Encoder, interests: Sequence[Interest | None]
) -> list[np.ndarray | None]:
    """Each interests' text as the encoder reads it (None without a text): the vector
    stored with a description, else encoded, all of a batch in one pass of the encoder
    (keyword lists repeat across subscribers and refits: kept in the machine's store)."""
    priors = [
        semantic.stored_vector(i.description_vector, i.description_model)
        if i is not None and i.description.strip()
        else None
        for i in interests
    ]
    texts = [interest_text(i) if p is None else "" for i, p in zip(interests, priors, strict=True)]
    missing = sorted(set(texts) - {""})
    encoded = dict(zip(missing, encoder.encode_terms(missing), strict=True)) if missing else {}
    return [p if p is not None else encoded.get(t) for p, t in zip(priors, texts, strict=True)]


def stored_weights(rows: Iterable[tuple[int, bytes, str]]) -> dict[int, LearnerWeights]:
    """Subscriber id -> learner weights, for the rows fitted with today's encoder."""
    current = model_id()
    out = {}
    for sid, data, model in rows:
        weights = from_bytes(bytes(data)) if model == current else None
        if weights is not None:
            out[sid] = weights
    return out
