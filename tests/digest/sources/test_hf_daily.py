"""The Hugging Face Daily Papers adapter: the JSON API, and the page as fallback."""

import json
from datetime import UTC, date, datetime

import pytest

from digest.sources.base import IngestError
from digest.sources.hf_daily import HfDailyAdapter, page_url
from tests.helpers.feeds import HF_JSON, HF_PAGE, HTML_TYPE, JSON_TYPE, Reply, feed_bytes


@pytest.fixture
def records():
    return HfDailyAdapter().parse(feed_bytes(HF_JSON))


def test_it_reads_every_item_of_the_real_api_answer(records):
    assert [r.arxiv_id for r in records] == ["2410.17243", "2410.16251"]


def test_it_reads_upvotes_comments_and_links(records):
    first = records[0]
    assert first.upvotes == 64
    assert first.num_comments == 3
    assert first.hf_url == "https://huggingface.co/papers/2410.17243"
    assert first.abs_url == "https://arxiv.org/abs/2410.17243"


def test_it_dates_the_paper_by_its_daily_papers_day_in_utc(records):
    first = records[0]
    assert first.announced_on == date(2024, 10, 25)
    assert first.published_at == datetime(2024, 10, 22, 17, 59, 30, tzinfo=UTC)


def test_it_reads_author_names_in_order(records):
    assert records[0].authors[:3] == ["Zesen Cheng", "Hang Zhang", "Kehan Li"]
    assert len(records[0].authors) == 9


def test_it_reads_organization_code_and_project_when_present():
    item = json.loads(feed_bytes(HF_JSON))[0]
    item["organization"] = {"_id": "x", "name": "DAMO-NLP-SG", "fullname": "DAMO NLP SG"}
    item["paper"]["githubRepo"] = "https://github.com/DAMO-NLP-SG/Inf-CLIP"
    item["paper"]["projectPage"] = "javascript:alert(1)"
    record = HfDailyAdapter().parse(json.dumps([item]).encode())[0]
    assert record.organization == "DAMO NLP SG"
    assert record.code_url == "https://github.com/DAMO-NLP-SG/Inf-CLIP"
    assert record.project_url == ""


def test_it_keeps_the_listings_thumbnail(records):
    assert records[0].thumbnail_url == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2410.17243.png"
    )


@pytest.mark.parametrize(
    "thumbnail",
    [
        None,
        "",
        42,
        "http://cdn-thumbnails.huggingface.co/a.png",  # not https
        "https://tracker.example.com/pixel.gif",  # not the listing's host
        "https://huggingface.co.evil.example/a.png",  # a look-alike host
        "https://user:pw@cdn-thumbnails.huggingface.co/a.png",
        "https://cdn-thumbnails.huggingface.co:8443/a.png",
        'https://cdn-thumbnails.huggingface.co/a.png" onerror="x',
        "javascript:alert(1)",
    ],
)
def test_a_missing_or_foreign_thumbnail_is_left_out(thumbnail):
    item = json.loads(feed_bytes(HF_JSON))[0]
    item["thumbnail"] = thumbnail

    record = HfDailyAdapter().parse(json.dumps([item]).encode())[0]

    assert record.thumbnail_url == ""


def test_it_reads_the_same_papers_from_the_html_page():
    from_page = HfDailyAdapter().parse(feed_bytes(HF_PAGE))
    from_api = HfDailyAdapter().parse(feed_bytes(HF_JSON))
    assert from_page == from_api


def test_a_page_without_paper_data_is_a_permanent_error():
    with pytest.raises(IngestError, match="SVELTE_HYDRATER") as caught:
        HfDailyAdapter().parse(b"<html><body><p>We are down</p></body></html>")
    assert caught.value.permanent


@pytest.mark.parametrize("raw", [b"", b"{not json", b'{"error": "x"}', b"42", b"[" * 100000])
def test_it_refuses_json_it_cannot_use(raw):
    with pytest.raises(IngestError):
        HfDailyAdapter().parse(raw)


def test_schema_drift_gives_records_not_crashes():
    records = HfDailyAdapter().parse(b'[{"paper": {"id": 5, "upvotes": "many"}}, "junk", {}]')
    assert [r.arxiv_id for r in records] == ["", "", ""]
    assert records[0].upvotes is None


def test_the_page_url_of_the_api():
    assert page_url("https://huggingface.co/api/daily_papers") == "https://huggingface.co/papers"
    assert (
        page_url("https://huggingface.co/api/daily_papers?date=2024-10-25")
        == "https://huggingface.co/papers/date/2024-10-25"
    )
    assert page_url("https://example.org/feed.json") is None


def test_fetch_falls_back_to_the_page_when_the_api_fails(feed_server, fast_http):
    feed_server.serve("/api/daily_papers", Reply(status=404, content_type=JSON_TYPE))
    feed_server.serve("/papers", Reply(body=feed_bytes(HF_PAGE), content_type=HTML_TYPE))
    fetched = HfDailyAdapter().fetch(feed_server.url("/api/daily_papers"))
    assert len(HfDailyAdapter().parse(fetched.bodies[0])) == 2


@pytest.mark.parametrize(
    "body", [b'[{"paper": {"id": "2410.17243", "tit', b"<html>Down for maintenance</html>"]
)
def test_fetch_falls_back_to_the_page_when_the_api_answers_unusable_json(
    feed_server, fast_http, body
):
    feed_server.serve("/api/daily_papers", Reply(body=body, content_type=JSON_TYPE))
    feed_server.serve("/papers", Reply(body=feed_bytes(HF_PAGE), content_type=HTML_TYPE))
    fetched = HfDailyAdapter().fetch(feed_server.url("/api/daily_papers"))
    assert len(HfDailyAdapter().parse(fetched.bodies[0])) == 2
    assert len(feed_server.hits("/papers")) == 1


def test_fetch_reports_both_failures_when_the_fallback_fails_too(feed_server, fast_http):
    feed_server.serve("/api/daily_papers", Reply(status=404, content_type=JSON_TYPE))
    with pytest.raises(IngestError, match="page fallback failed too") as caught:
        HfDailyAdapter().fetch(feed_server.url("/api/daily_papers"))
    assert caught.value.permanent


def one_item(**paper) -> bytes:
    return json.dumps(
        [{"paper": {"id": "2410.17243", "title": "Breaking the Wall", **paper}}]
    ).encode()


@pytest.mark.parametrize(("upvotes", "read"), [("64", 64), (" 7 ", 7), ("many", None), (-3, 0)])
def test_upvotes_given_as_text_are_read_as_a_count(upvotes, read):
    assert HfDailyAdapter().parse(one_item(upvotes=upvotes))[0].upvotes == read


def test_authors_given_as_plain_names_are_read():
    authors = ["Zesen Cheng", {"name": "Hang Zhang"}, "", None, 3]
    assert HfDailyAdapter().parse(one_item(authors=authors))[0].authors == [
        "Zesen Cheng",
        "Hang Zhang",
    ]


def test_a_versioned_id_still_links_to_the_latest_version():
    record = HfDailyAdapter().parse(one_item(id="2410.17243v2"))[0]
    assert (record.arxiv_id, record.version) == ("2410.17243", 2)
    assert record.abs_url == "https://arxiv.org/abs/2410.17243"
    assert record.hf_url == "https://huggingface.co/papers/2410.17243"
