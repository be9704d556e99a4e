"""Papers pasted as examples: ids and links resolved, unknown ones fetched in one request."""

from __future__ import annotations

import time
from datetime import date

import pytest

from digest.models import Paper
from digest.sources.base import IngestError, possible_arxiv_id
from subscriptions import tasks
from subscriptions.examples import (
    examples_add,
    examples_fetch_later,
    examples_parse,
    parse_example,
    pasted_text,
)
from subscriptions.models import Feedback
from tests.factories import make_paper, make_subscriber
from tests.helpers.feeds import API_ERROR, FeedServer, Reply, feed_bytes

pytestmark = pytest.mark.django_db
API_PAGE = "arxiv-api-query-atom_all-science_2019-08-10_first3entries.xml"


@pytest.fixture
def arxiv_api(settings):
    settings.ARXIV_MIN_INTERVAL_SECONDS = 0.0
    settings.INGEST_MAX_ATTEMPTS = 1
    server = FeedServer().start()
    settings.ARXIV_API_URL = server.serve_file("/api/query", API_PAGE)
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.01234", "2401.01234"),
        ("arXiv:2401.01234v2", "2401.01234"),
        ("https://arxiv.org/abs/2401.01234v3", "2401.01234"),
        ("https://arxiv.org/pdf/2401.01234v1.pdf", "2401.01234"),
        ("arxiv.org/abs/hep-th/9901001", "hep-th/9901001"),
        ("https://arxiv.org/html/2401.01234v1", "2401.01234"),
        ("https://huggingface.co/papers/2401.01234", "2401.01234"),
        ("huggingface.co/papers/2401.01234/", "2401.01234"),
        ("https://huggingface.co/models/2401.01234", None),
        ("https://example.com/abs/2401.01234", None),
        ("distillation", None),
        ("2401", None),
    ],
)
def test_an_example_is_an_arxiv_id_or_an_arxiv_link(text, expected):
    assert parse_example(text) == expected


def test_a_pasted_list_keeps_ids_in_order_and_names_what_is_not_one():
    ids, bad = examples_parse("2401.01234, https://arxiv.org/abs/2401.01234 nonsense\n2402.00001")
    assert ids == ["2401.01234", "2402.00001"]
    assert bad == ["nonsense"]


@pytest.mark.parametrize(
    "impossible",
    [
        "2413.00001",
        "9999.99999",
        "0703.0001",
        "1234.5678",
        "1501.0001",
        "1412.00001",
        "hep-th/0801001",
        "hep-th/9913001",
    ],
)
def test_a_number_no_arxiv_paper_can_have_is_refused_without_asking_arxiv(arxiv_api, impossible):
    result = examples_add(make_subscriber("alice@example.com"), f"1805.04770 {impossible}")
    assert result.impossible == [impossible]
    assert (
        arxiv_api.hits("/api/query") == [] or impossible not in arxiv_api.hits("/api/query")[0][0]
    )


def test_numbers_of_every_era_of_arxiv_are_possible():
    today = date(2026, 12, 3)
    for arxiv_id in (
        "0704.0001",
        "1412.9999",
        "1501.00001",
        "2612.12345",
        "2701.00001",
        "hep-th/9108001",
        "math/0703001",
    ):
        assert possible_arxiv_id(arxiv_id, today), arxiv_id
    assert not possible_arxiv_id("2702.00001", today)  # two months ahead


def test_more_papers_than_one_paste_takes_are_counted_not_silently_dropped(arxiv_api):
    for n in range(25):
        make_paper(f"Paper {n}", arxiv_id=f"2401.{n:05d}")
    text = " ".join(f"2401.{n:05d}" for n in range(25))
    result = examples_add(make_subscriber("alice@example.com"), text)
    assert len(result.liked) == 20 and result.over == 5


def test_a_long_paste_is_cut_between_items_never_inside_one():
    text = " ".join(f"2401.{n:05d}" for n in range(500))  # 5,499 characters
    kept = pasted_text(text)
    assert len(kept) <= 4000
    ids, bad = examples_parse(kept)
    assert bad == [] and ids == [f"2401.{n:05d}" for n in range(len(ids))]


def test_known_papers_are_liked_without_asking_arxiv(arxiv_api):
    alice = make_subscriber("alice@example.com")
    paper = make_paper("Born Again Neural Networks", arxiv_id="1805.04770")
    result = examples_add(alice, "https://arxiv.org/abs/1805.04770v2")
    assert result.liked == [paper]
    assert Feedback.objects.get(subscriber=alice).signal == 1
    assert arxiv_api.hits("/api/query") == []


def test_unknown_papers_are_fetched_in_one_request(arxiv_api):
    alice = make_subscriber("alice@example.com")
    result = examples_add(alice, "arXiv:1501.05039 https://arxiv.org/pdf/1503.01162v1.pdf")
    assert [p.arxiv_id for p in result.liked] == ["1501.05039", "1503.01162"]
    (request,) = arxiv_api.hits("/api/query")
    assert "id_list=1501.05039%2C1503.01162" in request[0]
    assert Paper.objects.filter(arxiv_id__in=["1501.05039", "1503.01162"]).count() == 2
    assert Feedback.objects.filter(subscriber=alice, signal=1).count() == 2


def test_an_id_arxiv_does_not_know_and_a_bad_one_are_named(arxiv_api):
    alice = make_subscriber("alice@example.com")
    result = examples_add(alice, "1501.05039 2401.99999 not-a-paper")
    assert [p.arxiv_id for p in result.liked] == ["1501.05039"]
    assert result.unknown == ["2401.99999"]
    assert result.bad == ["not-a-paper"]
    assert len(arxiv_api.hits("/api/query")) == 1


def test_arxiv_being_down_loses_nothing_already_known(arxiv_api, settings):
    settings.ARXIV_API_URL = arxiv_api.serve("/down", Reply(status=503, body=b"busy"))
    alice = make_subscriber("alice@example.com")
    make_paper("Known", arxiv_id="1805.04770")
    result = examples_add(alice, "1805.04770 1501.05039")
    assert result.pending == ["1501.05039"]
    assert [p.arxiv_id for p in result.liked] == ["1805.04770"]


def test_an_error_from_arxiv_is_said_and_not_promised_again(
    arxiv_api, settings, django_capture_on_commit_callbacks
):
    settings.ARXIV_API_URL = arxiv_api.serve_file("/error", API_ERROR)
    alice = make_subscriber("alice@example.com")
    with django_capture_on_commit_callbacks() as queued:
        result = examples_add(alice, "2401.01234")
    assert result.refused == ["2401.01234"] and result.pending == []
    assert "incorrect id format" in result.refusal  # what the recorded answer says
    assert queued == []  # no task: it would get the same answer


def test_the_page_asks_arxiv_once_however_many_times_a_pull_would(arxiv_api, settings):
    settings.INGEST_MAX_ATTEMPTS = 4  # a pull's default: with backoff, minutes in a request
    settings.INGEST_BACKOFF_SECONDS = 0.01
    settings.ARXIV_API_URL = arxiv_api.serve("/down", Reply(status=503, body=b"busy"))
    result = examples_add(make_subscriber("alice@example.com"), "1501.05039")
    assert len(arxiv_api.hits("/down")) == 1
    assert result.pending == ["1501.05039"] and result.liked == []


def test_a_slow_arxiv_is_left_to_the_task_after_the_lookup_timeout(arxiv_api, settings):
    settings.ARXIV_LOOKUP_TIMEOUT = 0.3
    page = feed_bytes(API_PAGE)
    settings.ARXIV_API_URL = arxiv_api.serve("/slow", Reply(body=page, delay=2.0))
    alice = make_subscriber("alice@example.com")
    result = examples_add(alice, "1501.05039")
    assert result.pending == ["1501.05039"]
    assert not Feedback.objects.filter(subscriber=alice).exists()


def test_a_page_does_not_queue_behind_a_pull_for_arxivs_slot(arxiv_api, settings):
    settings.ARXIV_MIN_INTERVAL_SECONDS = 3.0
    settings.ARXIV_LOOKUP_TIMEOUT = 2.0
    slots = settings.VAR_DIR / "slots"
    slots.mkdir(parents=True, exist_ok=True)
    (slots / "arxiv.slot").write_text(repr(time.time() + 300))  # a pull booked ahead
    result = examples_add(make_subscriber("alice@example.com"), "1501.05039")
    assert result.pending == ["1501.05039"]
    assert arxiv_api.hits("/api/query") == []


def test_what_arxiv_did_not_send_in_time_is_fetched_later_and_liked(
    arxiv_api, settings, django_capture_on_commit_callbacks, monkeypatch
):
    page = feed_bytes(API_PAGE)
    settings.ARXIV_API_URL = arxiv_api.serve(
        "/flaky", Reply(status=503, body=b"busy"), Reply(body=page)
    )
    queued = []
    monkeypatch.setattr(tasks.examples_fetch, "delay", lambda *args: queued.append(args))
    alice = make_subscriber("alice@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        result = examples_add(alice, "1501.05039 1503.01162")
    assert queued == [(alice.pk, ["1501.05039", "1503.01162"])]
    assert result.liked == []

    assert tasks.examples_fetch(*queued[0]) == ["1501.05039", "1503.01162"]
    liked = Feedback.objects.filter(subscriber=alice, signal=1)
    assert sorted(liked.values_list("paper__arxiv_id", flat=True)) == ["1501.05039", "1503.01162"]
    assert len(arxiv_api.hits("/flaky")) == 2


def test_the_task_asks_again_while_arxiv_stays_away_and_stops_when_refused(arxiv_api, settings):
    alice = make_subscriber("alice@example.com")
    settings.ARXIV_API_URL = arxiv_api.serve("/down", Reply(status=503, body=b"busy"))
    with pytest.raises(IngestError) as raised:
        examples_fetch_later(alice.pk, ["1501.05039"])
    assert not raised.value.permanent  # the task's autoretry_for takes it
    assert tasks.examples_fetch.autoretry_for == (IngestError,)

    settings.ARXIV_API_URL = arxiv_api.serve("/refused", Reply(status=400, body=b"bad id"))
    assert examples_fetch_later(alice.pk, ["1501.05039"]) == []
    assert not Feedback.objects.filter(subscriber=alice).exists()


def test_the_task_records_nothing_for_a_subscriber_gone_since(arxiv_api):
    alice = make_subscriber("alice@example.com")
    gone = alice.pk
    alice.delete()
    assert examples_fetch_later(gone, ["1501.05039"]) == []
    assert arxiv_api.hits("/api/query") == []


def test_after_arxiv_failed_a_page_the_next_pages_leave_it_to_the_task(
    arxiv_api, settings, django_capture_on_commit_callbacks
):
    settings.ARXIV_API_URL = arxiv_api.serve("/down", Reply(status=503, body=b"busy"))
    alice, bob = make_subscriber("alice@example.com"), make_subscriber("bob@example.com")
    with django_capture_on_commit_callbacks() as queued:
        first = examples_add(alice, "1501.05039")
        second = examples_add(bob, "1503.01162")
    assert first.pending == ["1501.05039"] and second.pending == ["1503.01162"]
    assert len(arxiv_api.hits("/down")) == 1  # the second page did not spend a slot
    assert len(queued) == 2  # each is still fetched later, by a task


def test_a_paper_already_waiting_for_a_subscribers_task_is_not_queued_again(
    arxiv_api, settings, django_capture_on_commit_callbacks
):
    settings.ARXIV_API_URL = arxiv_api.serve("/down", Reply(status=503, body=b"busy"))
    alice = make_subscriber("alice@example.com")
    with django_capture_on_commit_callbacks() as queued:
        for _ in range(5):
            result = examples_add(alice, "1501.05039")
            assert result.pending == ["1501.05039"]  # still said: it is on its way
        examples_add(alice, "1501.05039 1503.01162")
    assert len(queued) == 2  # the first paste's task, then one for the new paper only
