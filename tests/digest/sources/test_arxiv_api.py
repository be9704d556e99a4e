"""The arXiv API adapter: recorded Atom pages, paging and the shared request slot."""

from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from digest.sources import http
from digest.sources.arxiv_api import ArxivApiAdapter, query_url, total_results
from digest.sources.base import IngestError
from tests.helpers.feeds import API_ERROR, API_PAGE, Reply, feed_bytes


@pytest.fixture
def records():
    return ArxivApiAdapter().parse(feed_bytes(API_PAGE))


def test_it_reads_every_entry_of_the_real_api_page(records):
    assert [r.arxiv_id for r in records] == ["1501.05039", "1503.01162", "physics/0507092"]
    assert all(r.version == 1 for r in records)


def test_it_keeps_old_style_ids_with_their_archive(records):
    old = records[-1]
    assert old.abs_url == "https://arxiv.org/abs/physics/0507092"
    assert old.pdf_url == "https://arxiv.org/pdf/physics/0507092"


def test_it_keeps_the_submission_time_and_dates_the_paper_by_its_listing(records):
    first = records[0]
    assert first.published_at == datetime(2015, 1, 21, 2, 41, 55, tzinfo=UTC)
    # Tuesday 21:41 in New York, after that day's 14:00 deadline: Thursday's listing.
    assert first.announced_on == date(2015, 1, 22)


def test_it_reads_authors_comment_doi_journal_ref_and_primary_category(records):
    report = records[1]
    assert report.authors == ["Peter Garik", "Yann Benétreau-Dupin"]
    assert report.doi == "10.1007/s11191-014-9716-8"
    assert report.comment.startswith("Conference funded by NSF")
    assert report.journal_ref == "Science & Education, September 2014, 23(9): 1853-1873"
    assert report.categories[0] == "physics.ed-ph"


def test_it_keeps_the_hard_wrapped_title_as_source_text(records):
    assert "\n" in records[1].title


def test_an_api_error_document_is_a_permanent_error():
    with pytest.raises(IngestError, match="incorrect id format") as caught:
        ArxivApiAdapter().parse(feed_bytes(API_ERROR))
    assert caught.value.permanent


def test_it_reads_the_total_without_a_second_parse():
    assert total_results(feed_bytes(API_PAGE)) == 120839


def test_query_url_builds_a_date_range_backfill():
    url = query_url(categories=["cs.LG", "cs.CL"], since=date(2025, 1, 1), until=date(2025, 1, 2))
    params = parse_qs(urlsplit(url).query)
    assert params["search_query"] == [
        "(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202501010000 TO 202501022359]"
    ]
    assert params["sortBy"] == ["submittedDate"]


def test_query_url_may_point_at_another_endpoint():
    url = query_url(query="abs:diffusion", base="http://127.0.0.1:8001/api/query?old=1")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("127.0.0.1:8001", "/api/query")
    assert parse_qs(parts.query)["search_query"] == ["(abs:diffusion)"]


def _page(start: int, count: int, total: int) -> bytes:
    """A page in the API's format made of the real page's entries."""
    raw = feed_bytes(API_PAGE).decode()
    head, rest = raw.split("<entry>", 1)
    entries = ["<entry>" + part for part in rest.split("<entry>")]
    entries[-1] = entries[-1].replace("</feed>", "")
    head = head.replace(">120839<", f">{total}<")
    return (head + "".join(entries[start : start + count]) + "</feed>").encode()


def test_fetch_pages_through_a_query_one_slot_apart(feed_server, fast_http, tmp_path, monkeypatch):
    fast_http.VAR_DIR = tmp_path  # arXiv's slot file (the test settings' cache is locmem)
    fast_http.ARXIV_API_PAGE_SIZE = 2
    fast_http.ARXIV_MIN_INTERVAL_SECONDS = 0.2
    # The guarantee is in the slots handed out, not in when requests reach the server
    # (a loaded machine may delay the first one past its slot).
    slots: list[float] = []
    reserve = http._reserve_in_file
    monkeypatch.setattr(http, "_reserve_in_file", lambda *a: slots.append(reserve(*a)) or slots[-1])
    feed_server.serve("/api/query", Reply(body=_page(0, 2, 3)), Reply(body=_page(2, 1, 3)))
    fetched = ArxivApiAdapter().fetch(feed_server.url("/api/query?search_query=all:science"))
    assert len(fetched.bodies) == 2
    hits = feed_server.hits("/api/query")
    starts = [parse_qs(urlsplit(path).query)["start"] for path, _, _ in hits]
    assert starts == [["0"], ["2"]]
    assert len(slots) == 2 and slots[1] - slots[0] >= 0.2 - 1e-6
    records = [r for body in fetched.bodies for r in ArxivApiAdapter().parse(body)]
    assert len(records) == 3


def test_fetch_stops_at_the_requested_number_of_results(feed_server, fast_http):
    fast_http.ARXIV_API_PAGE_SIZE = 2
    feed_server.serve("/api/query", Reply(body=_page(0, 2, 3)))
    fetched = ArxivApiAdapter().fetch(feed_server.url("/api/query?search_query=x&max_results=2"))
    assert len(fetched.bodies) == 1


def test_an_empty_page_short_of_the_total_is_asked_for_again(feed_server, fast_http):
    # arXiv's API now and then answers a page with no entries in the middle of a query.
    fast_http.ARXIV_API_PAGE_SIZE = 2
    fast_http.ARXIV_MIN_INTERVAL_SECONDS = 0
    feed_server.serve(
        "/api/query",
        Reply(body=_page(0, 2, 3)),
        Reply(body=_page(2, 0, 3)),
        Reply(body=_page(2, 1, 3)),
    )
    fetched = ArxivApiAdapter().fetch(feed_server.url("/api/query?search_query=all:science"))
    records = [r for body in fetched.bodies for r in ArxivApiAdapter().parse(body)]
    assert len(records) == 3
    assert fetched.problems == []


def test_a_query_that_stays_empty_short_of_its_total_says_what_is_missing(feed_server, fast_http):
    fast_http.ARXIV_API_PAGE_SIZE = 2
    fast_http.ARXIV_MIN_INTERVAL_SECONDS = 0
    feed_server.serve("/api/query", Reply(body=_page(0, 2, 3)), Reply(body=_page(2, 0, 3)))
    fetched = ArxivApiAdapter().fetch(feed_server.url("/api/query?search_query=all:science"))
    assert len([r for body in fetched.bodies for r in ArxivApiAdapter().parse(body)]) == 2
    assert fetched.problems == [
        "the arXiv API answered no entries from result 2 on, of the 3 it counted, 3 times: "
        "kept the 2 read; run the backfill again for the rest"
    ]


def test_fetch_refuses_a_non_numeric_max_results():
    with pytest.raises(IngestError, match="max_results"):
        ArxivApiAdapter().fetch("http://127.0.0.1:9/api/query?max_results=lots")
