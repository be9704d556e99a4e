"""The arXiv announcement feed adapter, on recorded feeds in both flavours."""

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from digest.sources import taxonomy
from digest.sources.arxiv_rss import ArxivRssAdapter, feed_url
from digest.sources.base import IngestError
from subscriptions import categories
from tests.helpers.feeds import ATOM_FEED, EMPTY_FEED, RSS_FEED, feed_bytes


@pytest.fixture
def atom_records():
    return ArxivRssAdapter().parse(feed_bytes(ATOM_FEED))


@pytest.fixture
def rss_records():
    return ArxivRssAdapter().parse(feed_bytes(RSS_FEED))


def test_it_reads_every_entry_of_the_truncated_real_atom_capture(atom_records):
    assert len(atom_records) == 87
    types = Counter(record.announce_type for record in atom_records)
    assert types["new"] == 41
    assert types["cross"] == 45


def test_it_takes_the_bare_id_and_version_from_the_entry_id(atom_records):
    first = atom_records[0]
    assert first.arxiv_id == "2508.13167"
    assert first.version == 1
    assert first.abs_url == "https://arxiv.org/abs/2508.13167"
    assert first.pdf_url == "https://arxiv.org/pdf/2508.13167"


def test_it_strips_the_announce_type_prefix_from_the_abstract(atom_records):
    abstract = atom_records[0].abstract
    assert abstract.startswith("Recent advances in large language models")
    assert "Announce Type" not in abstract
    assert all("Abstract:" not in record.abstract[:20] for record in atom_records)


def test_it_splits_the_one_dc_creator_string_into_authors(atom_records):
    authors = atom_records[0].authors
    assert authors[:3] == ["Weizhen Li", "Jianbo Lin", "Zhuosong Jiang"]
    assert len(authors) == 30
    assert all("," not in name for name in authors)


def test_it_keeps_categories_in_feed_order_primary_first(atom_records):
    assert atom_records[0].categories == ["cs.AI", "cs.CL"]
    cross = next(record for record in atom_records if record.announce_type == "cross")
    assert cross.categories[0] != "cs.AI" or len(cross.categories) == 1


def test_it_dates_the_announcement_at_arxiv_midnight_us_eastern(atom_records):
    first = atom_records[0]
    assert first.announced_on == date(2025, 8, 20)
    assert first.published_at == datetime(2025, 8, 20, 4, 0, tzinfo=UTC)
    assert first.updated_at.tzinfo == UTC


def test_it_reads_the_rss_2_flavour_with_every_announce_type(rss_records):
    assert [(r.arxiv_id, r.version, r.announce_type) for r in rss_records] == [
        ("2508.13167", 1, "new"),
        ("2508.00875", 1, "cross"),
        ("2508.13171", 1, "new"),
        ("2508.13167", 2, "replace"),
        ("2203.01250", 3, "replace-cross"),
    ]


def test_it_reads_rss_pubdate_as_the_announcement_day(rss_records):
    assert rss_records[0].announced_on == date(2025, 8, 20)
    assert rss_records[-1].announced_on == date(2024, 8, 23)
    assert rss_records[-1].published_at == datetime(2024, 8, 23, 4, 0, tzinfo=UTC)


def test_it_drops_affiliations_and_renders_tex_accents_in_author_names(rss_records):
    assert rss_records[2].authors == ["Antonin Monteil", "Paul Pegon", "Aleksandra Pižurica"]


def test_it_reads_doi_and_journal_reference(rss_records):
    replace_cross = rss_records[-1]
    assert replace_cross.doi == "10.5802/jep.257"
    assert replace_cross.journal_ref.startswith("Journal de l'")
    assert replace_cross.categories == ["math.AP", "math.OC"]


def test_an_empty_weekend_feed_is_no_papers_not_an_error():
    assert ArxivRssAdapter().parse(feed_bytes(EMPTY_FEED)) == []


@pytest.mark.parametrize("name", ["malformed_not-a-feed.html", "malformed_binary-garbage.bin"])
def test_it_refuses_a_document_that_is_not_a_feed(name):
    with pytest.raises(IngestError) as caught:
        ArxivRssAdapter().parse(feed_bytes(name))
    assert caught.value.permanent


def test_it_refuses_a_feed_that_declares_entities():
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss version="2.0"></rss>'
    with pytest.raises(IngestError, match="DTD or entities"):
        ArxivRssAdapter().parse(bomb)


def test_it_refuses_text_instead_of_bytes():
    with pytest.raises(IngestError):
        ArxivRssAdapter().parse("<rss/>")


def test_feed_url_names_the_categories_feed():
    assert feed_url(["cs.LG"]) == "https://rss.arxiv.org/rss/cs.LG"
    assert feed_url(["cs.AI", "stat.ML"], base="https://rss.arxiv.org/atom/") == (
        "https://rss.arxiv.org/atom/cs.AI+stat.ML"
    )
    with pytest.raises(IngestError, match="not arXiv categories"):
        feed_url(["cs.LG?x=1"])


def test_feed_url_takes_only_categories_arxiv_has():
    assert feed_url(["astro-ph", "cond-mat.quant-gas"]).endswith("/astro-ph+cond-mat.quant-gas")
    with pytest.raises(IngestError, match=r"^not arXiv categories: cs\.XX \(the list"):
        feed_url(["cs.LG", "cs.XX"])


def test_every_category_a_subscriber_can_choose_is_one_arxiv_has():
    assert set(categories.NAMES) <= taxonomy.CATEGORIES
