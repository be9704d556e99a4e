"""A record cut short (a truncated feed: title only, no abstract, a borrowed date) is a
stub; the first complete record of the same paper fills it and corrects its date."""

from datetime import date, timedelta

import pytest

from digest.ingest.pipeline import upsert
from digest.models import Paper
from digest.sources.arxiv_rss import ArxivRssAdapter
from digest.sources.base import PaperRecord
from tests.helpers.feeds import ATOM_FEED, feed_bytes

pytestmark = pytest.mark.django_db

DAY = date(2025, 8, 20)


def stub(**fields) -> PaperRecord:
    """What a feed cut off after an entry's title gives: no abstract, no announce type,
    and the date of the pull (or of the channel), not the paper's own."""
    return PaperRecord(
        arxiv_id="2508.13435v1", title="SVDformer", announced_on=DAY + timedelta(days=1), **fields
    )


def complete(**fields) -> PaperRecord:
    values = {
        "arxiv_id": "2508.13435v1",
        "title": "SVDformer",
        "abstract": "We embed directed graphs with an SVD and a transformer.",
        "announce_type": "new",
        "announced_on": DAY,
        "authors": ["Jiayu Fang"],
        **fields,
    }
    return PaperRecord(**values)


def test_a_later_complete_record_fills_the_abstract_and_corrects_the_date():
    upsert([stub()], kind="arxiv-rss")
    upsert([complete()], kind="arxiv-rss")

    paper = Paper.objects.get()
    assert paper.abstract == "We embed directed graphs with an SVD and a transformer."
    assert paper.announced_on == DAY
    assert paper.announce_type == "new"


def test_a_stub_never_moves_a_complete_papers_date():
    upsert([complete()], kind="arxiv-rss")
    upsert([stub()], kind="arxiv-rss")

    paper = Paper.objects.get()
    assert (paper.announced_on, paper.announce_type) == (DAY, "new")
    assert paper.abstract.startswith("We embed")


def test_a_complete_record_from_another_day_never_moves_a_complete_paper():
    upsert([complete()], kind="arxiv-rss")
    upsert([complete(announced_on=DAY + timedelta(days=3))], kind="hf-daily")

    assert Paper.objects.get().announced_on == DAY


def test_the_truncated_real_capture_leaves_a_stub_that_the_full_entry_completes():
    records = ArxivRssAdapter().parse(feed_bytes(ATOM_FEED))
    cut = records[-1]
    assert (cut.arxiv_id, cut.abstract, cut.announce_type) == ("2508.13435", "", "")
    upsert([cut], kind="arxiv-rss")
    upsert([complete(announced_on=DAY - timedelta(days=1))], kind="arxiv-api")

    paper = Paper.objects.get(arxiv_id="2508.13435")
    assert paper.abstract_text.startswith("We embed")
    assert paper.announced_on == DAY - timedelta(days=1)
