"""The cockpit's numbers: each chart's values against data whose counts are known."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from digest.cockpit import board, services, stats
from digest.cockpit.models import DailyStat
from digest.models import Delivery
from tests.digest.cockpit.conftest import NOON_TODAY, TODAY, YESTERDAY, at
from tests.factories import make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def charts(known_days):
    with at(NOON_TODAY):
        series = stats.series_read(3)
    return {chart.slug: chart for chart in board.charts_build(series)}


def column(chart, name: str) -> list:
    return chart.series[name]


def test_the_days_run_from_two_days_ago_to_today(charts):
    assert [d.isoformat() for d in charts["digests"].days] == [
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
    ]


def test_subscriber_events_count_each_day(charts):
    chart = charts["subscriber-events"]
    assert column(chart, "sign-ups") == [0, 3, 1]
    assert column(chart, "confirmations") == [0, 2, 0]
    assert column(chart, "unsubscribes") == [0, 1, 0]
    assert column(chart, "bounces") == [0, 1, 0]


def test_subscribers_by_status_are_counted_for_yesterday_and_today(charts):
    chart = charts["subscribers-by-status"]
    # Ten in all: six old, three of yesterday (one unsubscribed), one of today, who is
    # not in the earlier days' counts although they were counted today.
    assert column(chart, "active") == [6, 8, 9]
    assert column(chart, "unsubscribed") == [0, 1, 1]


def test_digests_per_day_by_outcome(charts):
    chart = charts["digests"]
    assert column(chart, "sent") == [0, 4, 2]
    assert column(chart, "empty") == [0, 1, 0]
    assert column(chart, "failed") == [0, 1, 0]


def test_digests_not_yet_sent_are_counted_as_waiting(known_days):
    [first, second] = Delivery.objects.filter(digest_date=TODAY)
    Delivery.objects.filter(pk=first.pk).update(status="pending")
    Delivery.objects.filter(pk=second.pk).update(status="sending")

    with at(NOON_TODAY):
        chart = {c.slug: c for c in board.charts_build(stats.series_read(3))}["digests"]

    assert column(chart, "waiting") == [0, 0, 2]
    assert column(chart, "sent") == [0, 4, 0]


def test_rates_are_of_the_digests_tried(charts):
    chart = charts["mail-rates"]
    assert column(chart, "failed") == [0, pytest.approx(1 / 5), 0]
    assert column(chart, "bounced") == [0, pytest.approx(1 / 5), 0]
    assert column(chart, "complained") == [0, 0, 0]


def test_new_papers_per_source_sum_that_days_runs(charts):
    chart = charts["papers"]
    assert column(chart, "arXiv cs.AI") == [0, 35, 4]
    assert column(chart, "HF daily") == [0, 7, 0]


def test_feedback_per_day_by_signal(charts):
    chart = charts["feedback"]
    assert column(chart, "more") == [0, 2, 0]
    assert column(chart, "fewer") == [0, 1, 0]


def test_each_chart_has_a_table_and_a_csv_of_the_same_numbers(charts):
    chart = charts["digests"]
    rows = list(csv.reader(io.StringIO(chart.csv())))
    assert rows[0] == ["day", "sent", "empty", "failed", "waiting"]
    assert rows[2] == ["2026-11-24", "4", "1", "1", "0"]
    assert chart.rows()[1] == ("2026-11-24", ["4", "1", "1", "0"])
    svg = str(chart.svg())
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title>2026-11-24 sent: 4</title>" in svg


def test_a_finished_day_is_rolled_up_once_and_then_only_read(known_days, django_assert_num_queries):
    with at(NOON_TODAY):
        services.stats_rollup(14)
        assert not DailyStat.objects.filter(day=YESTERDAY).exclude(metric=stats.BOUNCED)
    with at(NOON_TODAY + timedelta(days=1)):  # the day after tomorrow, yesterday is final
        assert len(services.stats_rollup(14)) == 1
        assert services.stats_rollup(14) == []  # a second run finds nothing to do
        stored = DailyStat.objects.filter(day=YESTERDAY, metric=stats.DIGESTS, key="sent").get()
        assert stored.value == 4
        # Finished days: one query for the done marks, one for the rows; today's and
        # yesterday's live numbers: seven indexed counts each. Never a query per day.
        with django_assert_num_queries(16):
            stats.series_read(14)


def test_a_digest_sent_after_the_sites_midnight_counts_for_its_own_day(db):
    # A New York reader's digest of the 24th goes out at 03:00 UTC on the 25th, after the
    # hourly watch of 00:40 has seen the 24th end in the site's time zone.
    reader = make_subscriber("ny@example.org", time_zone="America/New_York", send_hour=22)
    with at(datetime(2026, 11, 25, 0, 40, tzinfo=UTC)):
        services.stats_rollup(3)
    with at(datetime(2026, 11, 25, 3, 0, tzinfo=UTC)):
        Delivery.objects.create(subscriber=reader, digest_date=YESTERDAY, status="sent")

    with at(NOON_TODAY):
        services.stats_rollup(3)
        assert stats.series_read(3).get(stats.DIGESTS, "sent") == [0, 1, 0]
    with at(NOON_TODAY + timedelta(days=1)):
        services.stats_rollup(3)
        assert stats.series_read(3).get(stats.DIGESTS, "sent") == [1, 0, 0]


def test_a_digest_sent_for_tomorrow_east_of_utc_counts_today_until_tomorrow_comes(db):
    # A Tokyo reader's digest of the 26th goes out at 22:00 UTC on the 25th: the operator
    # sees it (here, that it failed) that evening, not only after the site's midnight.
    reader = make_subscriber("tokyo@example.org", time_zone="Asia/Tokyo", send_hour=7)
    tomorrow = TODAY + timedelta(days=1)
    Delivery.objects.create(subscriber=reader, digest_date=tomorrow, status="failed")

    with at(datetime(2026, 11, 25, 22, 5, tzinfo=UTC)):
        assert stats.series_read(3).get(stats.DIGESTS, "failed") == [0, 0, 1]
    with at(datetime(2026, 11, 26, 0, 40, tzinfo=UTC)):
        services.stats_rollup(3)
        assert stats.series_read(3).get(stats.DIGESTS, "failed") == [0, 0, 1]
    with at(datetime(2026, 11, 28, 0, 40, tzinfo=UTC)):
        services.stats_rollup(3)
        assert stats.series_read(3).get(stats.DIGESTS, "failed") == [1, 0, 0]


def test_a_later_row_for_a_finished_day_changes_nothing_once_rolled_up(known_days):
    with at(NOON_TODAY):
        stats.series_read(3)
        known_days["arxiv"].runs.create(kind="arxiv-rss", url="x", new_count=100)
        # The new run is today's; yesterday's stored value stands.
        again = stats.series_read(3)
    assert again.get(stats.PAPERS_NEW, "arXiv cs.AI") == [0, 35, 104]


def test_bounce_and_complaint_counters_add_up_per_day(db):
    stats.counter_add(stats.COMPLAINED, day=TODAY)
    stats.counter_add(stats.COMPLAINED, day=TODAY, by=2)
    assert DailyStat.objects.get(metric=stats.COMPLAINED, day=TODAY).value == 3


def test_a_rollup_keeps_the_days_counters(known_days):
    with at(NOON_TODAY):
        stats.day_store(YESTERDAY)
        stats.day_store(YESTERDAY)
    assert DailyStat.objects.get(metric=stats.BOUNCED, day=YESTERDAY).value == 1


def test_most_upvoted_and_fastest_rising_papers_of_the_week(known_days):
    with at(NOON_TODAY):
        top = stats.papers_most_upvoted(TODAY)
        rising = stats.papers_rising()
    assert [(p.title, p.upvotes) for p in top] == [("Known paper", 9)]
    assert [(p.title, p.gained) for p in rising] == [("Known paper", 7)]
