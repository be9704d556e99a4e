"""Papers pasted as examples: ids and links resolved, unknown ones fetched in one request."""

from __future__ import annotations

import pytest

from digest.models import Paper
from subscriptions.examples import examples_add, examples_parse, parse_example
from subscriptions.models import Feedback
from tests.factories import make_paper, make_subscriber
from tests.helpers.feeds import FeedServer

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
    result = examples_add(alice, "1501.05039 2999.99999 not-a-paper")
    assert [p.arxiv_id for p in result.liked] == ["1501.05039"]
    assert result.unknown == ["2999.99999"]
    assert result.bad == ["not-a-paper"]
    assert len(arxiv_api.hits("/api/query")) == 1


def test_arxiv_being_down_loses_nothing_already_known(arxiv_api, settings):
    from tests.helpers.feeds import Reply

    settings.ARXIV_API_URL = arxiv_api.serve("/down", Reply(status=503, body=b"busy"))
    alice = make_subscriber("alice@example.com")
    make_paper("Known", arxiv_id="1805.04770")
    result = examples_add(alice, "1805.04770 1501.05039")
    assert result.unavailable
    assert [p.arxiv_id for p in result.liked] == ["1805.04770"]
