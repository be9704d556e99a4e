"""Papers a subscriber names as examples of what they want: arXiv ids or abs/pdf URLs.

Each is resolved from the database or, when unknown, from the arXiv API: one request for
all of them (`id_list`), through the polite shared HTTP client and arXiv's shared slot.
Fetched papers are stored like any ingested ones, then each example is a "more like this".
The page asks arXiv once, within ARXIV_LOOKUP_TIMEOUT; when arXiv does not answer in
time, a task (subscriptions.tasks.examples_fetch) asks again with the pulls' patience and
records the examples once their papers come, so nothing pasted is lost.

arXiv's request slots are shared with the pulls, so pasting must not spend them freely: a
number no arXiv paper can have (a month 13, a year before the scheme) is refused here;
after arXiv failed to answer a page, pages leave the lookup to the task for a few minutes;
and a paper already waiting for a subscriber's task is not queued again for them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from digest.ingest import pipeline
from digest.models import Paper
from digest.sources.arxiv_api import ArxivApiAdapter
from digest.sources.arxiv_rss import FEED_TYPES, arxiv_throttle
from digest.sources.base import IngestError, bare_arxiv_id, possible_arxiv_id
from digest.sources.http import Patience
from digest.sources.http import fetch as http_fetch

from . import services
from .models import Subscriber

log = logging.getLogger(__name__)

MAX_EXAMPLES = 20
MAX_PASTED_CHARACTERS = 4000
_SEPARATORS = re.compile(r"[\s,;]+")
_ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org"}
_ARXIV_PATHS = ("/abs/", "/pdf/", "/html/")
# Hugging Face's papers pages are named by the arXiv id.
_PAPERS_PAGES = {"huggingface.co": "/papers/", "hf.co": "/papers/"}
# After arXiv failed to answer a page, pages leave lookups to the task this long (seconds).
LOOKUP_PAUSE = 300
# A paper waiting for a subscriber's task is not queued again for them within this long.
QUEUED_FOR = 3600


@dataclass
class Examples:
    """What became of a pasted list: liked papers, and the items that could not be used."""

    liked: list[Paper] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)  # not an arXiv id or link
    impossible: list[str] = field(default_factory=list)  # an id no arXiv paper can have
    over: int = 0  # ids beyond MAX_EXAMPLES, left for another paste
    unknown: list[str] = field(default_factory=list)  # well formed, but arXiv has no such paper
    pending: list[str] = field(default_factory=list)  # arXiv did not answer: fetched later
    refused: list[str] = field(default_factory=list)  # arXiv answered with an error
    refusal: str = ""  # what it said


def parse_example(item: str) -> str | None:
    """ "2401.01234", "arXiv:2401.01234v2", "https://arxiv.org/abs/2401.01234",
    ".../pdf/2401.01234v1.pdf", ".../html/2401.01234v1", "https://huggingface.co/papers/2401.01234"
    -> "2401.01234"; anything else -> None."""
    text = item.strip().strip("<>\"'")
    if text.lower().startswith("arxiv:"):
        text = text[6:]
    bare = text.lower().split("/", 1)[0]
    if "://" in text or bare in _ARXIV_HOSTS or bare in _PAPERS_PAGES:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        host, path = parts.hostname or "", parts.path
        prefixes = _ARXIV_PATHS if host in _ARXIV_HOSTS else (_PAPERS_PAGES.get(host, "\0"),)
        for prefix in prefixes:
            if path.startswith(prefix):
                text = path[len(prefix) :].removesuffix(".pdf").rstrip("/")
                break
        else:
            return None
    return bare_arxiv_id(text)


def pasted_text(text: str) -> str:
    """At most MAX_PASTED_CHARACTERS of a paste, cut between items, never inside one."""
    if len(text) <= MAX_PASTED_CHARACTERS:
        return text
    cut = text[: MAX_PASTED_CHARACTERS + 1]
    gaps = list(_SEPARATORS.finditer(cut))
    return cut[: gaps[-1].start()] if gaps else ""


# One pasted item and the separators after it.
_ITEM_AND_GAP = re.compile(r"([^\s,;]+)([\s,;]*)")


def untaken_text(text: str, result: Examples) -> str:
    """The paste without the items it added (liked now, or once arXiv answers), the rest
    as typed: what is left to mend or to add with another press. Given back whole, the
    box would add its first MAX_EXAMPLES papers again at every press, never the others."""
    taken = {paper.arxiv_id for paper in result.liked} | set(result.pending)

    def unless_taken(item: re.Match) -> str:
        return "" if parse_example(item.group(1)) in taken else item.group(0)

    return _ITEM_AND_GAP.sub(unless_taken, text).strip()


def examples_add_pasted(subscriber: Subscriber, pasted: str) -> tuple[Examples, str]:
    """`examples_add` on what one paste may hold (`pasted_text`); the items past it count
    as over the limit, unread. Returns the result and the text to give back: the paste
    without what it added (`untaken_text`), the unread items as typed."""
    text = pasted_text(pasted)
    unread = pasted[len(text) :].strip()
    result = examples_add(subscriber, text)
    result.over += len(_SEPARATORS.split(unread)) if unread else 0
    return result, f"{untaken_text(text, result)}\n{unread}".strip()


def examples_parse(text: str) -> tuple[list[str], list[str]]:
    """(arXiv ids in order, without repeats; the items that are not ids or arXiv links)."""
    ids: list[str] = []
    bad: list[str] = []
    for item in _SEPARATORS.split(text or ""):
        if not item:
            continue
        arxiv_id = parse_example(item)
        if arxiv_id is None:
            bad.append(item[:80])
        elif arxiv_id not in ids:
            ids.append(arxiv_id)
    return ids, bad


def papers_fetch(arxiv_ids: list[str], patience: Patience | None = None) -> None:
    """Stores the papers the arXiv API has among `arxiv_ids`: one request for all of them."""
    query = urlencode({"id_list": ",".join(arxiv_ids), "max_results": len(arxiv_ids)})
    key, interval = arxiv_throttle()
    response = http_fetch(
        f"{settings.ARXIV_API_URL}?{query}",
        accept="application/atom+xml",
        content_types=FEED_TYPES,
        throttle=key,
        interval=interval,
        patience=patience,
    )
    records = ArxivApiAdapter().parse(response.content)
    pipeline.upsert(records, kind="arxiv-api")


def examples_add(subscriber: Subscriber, text: str) -> Examples:
    """Records every paper named in `text` as liked; says what could not be used."""
    named, bad = examples_parse(text)
    today = timezone.now().date()
    ids = [i for i in named if possible_arxiv_id(i, today)]
    result = Examples(bad=bad[:MAX_EXAMPLES], over=max(len(ids) - MAX_EXAMPLES, 0))
    result.impossible = [i for i in named if i not in ids][:MAX_EXAMPLES]
    ids = ids[:MAX_EXAMPLES]
    known = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids)}
    missing = [i for i in ids if i not in known]
    if missing and _lookups_paused():
        result.pending = missing
    elif missing:
        try:
            papers_fetch(missing, Patience.of_a_page())
        except IngestError as error:
            if error.permanent:  # asking again would get the same answer
                log.warning("arXiv refused pasted examples %s: %s", missing, error)
                result.refused, result.refusal = missing, str(error)
            else:
                log.warning("arXiv did not answer in time for pasted examples", exc_info=True)
                _pause_lookups()
                result.pending = missing
        else:
            known |= {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=missing)}
            result.unknown = [i for i in missing if i not in known]
    for arxiv_id in ids:
        if arxiv_id in known and services.feedback_record(subscriber, arxiv_id, 1):
            result.liked.append(known[arxiv_id])
    queue = [i for i in result.pending if _first_queued(subscriber.pk, i)]
    if queue:
        examples_fetch_soon(subscriber.pk, queue)
    return result


# The cache every web process shares (the rate limits'), so that one pause holds for all.
def _shared_cache():
    return caches[settings.RATELIMIT_USE_CACHE]


def _lookups_paused() -> bool:
    return bool(_shared_cache().get("examples:lookups-paused"))


def _pause_lookups() -> None:
    _shared_cache().set("examples:lookups-paused", 1, LOOKUP_PAUSE)


def _first_queued(subscriber_id: int, arxiv_id: str) -> bool:
    return bool(_shared_cache().add(f"examples:queued:{subscriber_id}:{arxiv_id}", 1, QUEUED_FOR))


def examples_fetch_soon(subscriber_id: int, arxiv_ids: list[str]) -> None:
    """Queues the task that fetches and records these examples, once this transaction
    commits; a broker that is down is logged, not turned into an error page."""
    from . import tasks  # tasks imports this module: its task runs examples_fetch_later

    def queue_examples_fetch() -> None:
        tasks.examples_fetch.delay(subscriber_id, arxiv_ids)

    # A named function, as Django logs a robust callback's failure by its __qualname__.
    transaction.on_commit(queue_examples_fetch, robust=True)


def examples_fetch_later(subscriber_id: int, arxiv_ids: list[str]) -> list[str]:
    """The task's part: fetches what the page could not, with the pulls' patience, and
    records each paper arXiv has as liked. Raises IngestError while arXiv stays away (the
    task retries); returns the ids recorded."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return []  # unsubscribed and deleted since: nothing to record
    missing = list(
        set(arxiv_ids)
        - set(Paper.objects.filter(arxiv_id__in=arxiv_ids).values_list("arxiv_id", flat=True))
    )
    if missing:
        try:
            papers_fetch(sorted(missing))
        except IngestError as error:
            if not error.permanent:
                raise
            log.warning("arXiv refused pasted examples %s: %s", arxiv_ids, error)
            return []
    known = set(Paper.objects.filter(arxiv_id__in=arxiv_ids).values_list("arxiv_id", flat=True))
    return [i for i in arxiv_ids if i in known and services.feedback_record(subscriber, i, 1)]
