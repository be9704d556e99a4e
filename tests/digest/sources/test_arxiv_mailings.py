"""A backfilled paper is dated by the feed day that listed it, on arXiv's published
schedule (help/availability), not by the day it was submitted."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from digest.sources.arxiv_mailings import ARXIV_TIME, listing_day


def eastern(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ARXIV_TIME)


# 2025-08-18 is a Monday.
@pytest.mark.parametrize(
    ("submitted", "listed"),
    [
        # Monday 14:00 to Tuesday 14:00: announced Tuesday 20:00, in Wednesday's feed.
        (eastern(2025, 8, 18, 14, 0), date(2025, 8, 20)),
        (eastern(2025, 8, 19, 13, 59), date(2025, 8, 20)),
        # Tuesday 14:00 to Wednesday 14:00: Thursday's feed.
        (eastern(2025, 8, 19, 14, 0), date(2025, 8, 21)),
        (eastern(2025, 8, 20, 9, 30), date(2025, 8, 21)),
        # Wednesday 14:00 to Thursday 14:00: Friday's feed.
        (eastern(2025, 8, 21, 13, 0), date(2025, 8, 22)),
        # Thursday 14:00 to Friday 14:00: announced Sunday 20:00, in Monday's feed.
        (eastern(2025, 8, 21, 14, 0), date(2025, 8, 25)),
        (eastern(2025, 8, 22, 13, 59), date(2025, 8, 25)),
        # Friday 14:00 to Monday 14:00: announced Monday 20:00, in Tuesday's feed.
        (eastern(2025, 8, 22, 14, 0), date(2025, 8, 26)),
        (eastern(2025, 8, 23, 12, 0), date(2025, 8, 26)),
        (eastern(2025, 8, 25, 13, 59), date(2025, 8, 26)),
    ],
)
def test_a_submission_is_listed_on_the_feed_day_after_its_deadline(submitted, listed):
    assert listing_day(submitted) == listed


def test_the_deadline_is_14_00_in_new_york_in_summer_and_in_winter():
    # New York is UTC-5 in winter and UTC-4 in summer: 14:00 there is 19:00 or 18:00 UTC.
    assert listing_day(datetime(2025, 1, 14, 18, 30, tzinfo=UTC)) == date(2025, 1, 15)
    assert listing_day(datetime(2025, 1, 14, 19, 30, tzinfo=UTC)) == date(2025, 1, 16)
    assert listing_day(datetime(2025, 7, 15, 17, 30, tzinfo=UTC)) == date(2025, 7, 16)
    assert listing_day(datetime(2025, 7, 15, 18, 30, tzinfo=UTC)) == date(2025, 7, 17)


def test_a_submission_late_on_a_utc_evening_counts_by_new_york_time():
    # Tuesday 23:00 UTC is Tuesday 19:00 in New York: after Tuesday's deadline.
    assert listing_day(datetime(2025, 8, 19, 23, 0, tzinfo=UTC)) == date(2025, 8, 21)
    # Wednesday 02:00 UTC is still Tuesday 22:00 in New York.
    assert listing_day(datetime(2025, 8, 20, 2, 0, tzinfo=UTC)) == date(2025, 8, 21)
