"""Which papers a digest draws from never depends on where the reader lives.

Papers carry arXiv's announcement day (the same for everyone); each digest covers what
was announced since the reader's previous digest, or the window for the first. These
tests drive beat's own entry points hour by hour, in every offset from UTC-12 to UTC+14,
around midnight and across daylight-saving changes.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from digest import tasks
from digest.celery import app as celery_app
from digest.delivery import previews, sending
from digest.models import Delivery, DeliveryItem
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

# arXiv announces at midnight US Eastern (04:00 or 05:00 UTC); the hourly ingest stores
# the day's papers, stamped with that day, at 05:15 UTC.
INGEST_HOUR = 5


@pytest.fixture
def eager_celery(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def test_a_new_york_reader_at_0418_utc_gets_todays_papers(eager_celery, mailoutbox):
    """The report: 23:18 in New York is 04:18 UTC the next day; the day's papers are in
    (announced 'today' in UTC terms), and beat's tick planned a digest for the reader's
    local date, drawn from nothing."""
    now = datetime(2026, 11, 24, 4, 18, tzinfo=UTC)
    with time_machine.travel(now):
        make_paper("Knowledge distillation for small language models", announced_on=now.date())
        reader = make_subscriber(
            "ny@example.org", keywords=["distillation"], time_zone="America/New_York"
        )

        picks = previews.preview_picks(reader)
        tasks.tick.apply()

    assert [p["title"] for p in picks] == ["Knowledge distillation for small language models"]
    row = Delivery.objects.get()
    assert (row.digest_date.isoformat(), row.status) == ("2026-11-23", Delivery.Status.SENT)
    [message] = mailoutbox
    assert "Knowledge distillation for small language models" in message.body


def test_send_digests_all_does_not_skip_a_reader_west_of_utc(mailoutbox):
    now = datetime(2026, 11, 24, 4, 18, tzinfo=UTC)
    with time_machine.travel(now):
        make_paper("Knowledge distillation for small language models", announced_on=now.date())
        make_subscriber("ny@example.org", keywords=["distillation"], time_zone="America/New_York")
        call_command("send_digests", "--all")

    [message] = mailoutbox
    assert "Knowledge distillation for small language models" in message.body


def _run_days(start: datetime, days: int, reader) -> list:
    """Every hour for `days` days from `start` (UTC): a new paper at each day's ingest,
    and the send as beat's tick would run it. Returns the papers announced, starting
    with the one of the day before (so the first digest has something)."""
    with time_machine.travel(start - timedelta(hours=18), tick=False):
        papers = [
            make_paper(
                "Distillation, the day before", announced_on=(start - timedelta(days=1)).date()
            )
        ]
    for hour in range(days * 24):
        now = start + timedelta(hours=hour)
        with time_machine.travel(now + timedelta(minutes=15), tick=False):
            if now.hour == INGEST_HOUR:
                papers.append(
                    make_paper(f"Distillation, part {len(papers)}", announced_on=now.date())
                )
            sending.send_due()
    return papers


ZONES = [
    ("Etc/GMT+12", 0),  # UTC-12
    ("Etc/GMT+12", 23),
    ("Pacific/Pago_Pago", 7),  # UTC-11
    ("America/Los_Angeles", 20),
    ("America/New_York", 23),
    ("UTC", 0),
    ("Europe/Berlin", 6),
    ("Asia/Kolkata", 8),  # +05:30
    ("Asia/Tokyo", 8),
    ("Pacific/Chatham", 0),  # +13:45
    ("Pacific/Kiritimati", 0),  # UTC+14
    ("Pacific/Kiritimati", 23),
]


@pytest.mark.parametrize(("zone", "send_hour"), ZONES)
def test_every_paper_reaches_every_reader_once_whatever_their_time_zone(zone, send_hour):
    reader = make_subscriber(
        f"{send_hour}@example.org", keywords=["distillation"], time_zone=zone, send_hour=send_hour
    )
    papers = _run_days(datetime(2026, 11, 23, 0, 0, tzinfo=UTC), 4, reader)

    _assert_each_paper_once(reader, papers)


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        # Clocks go back in New York on 1 November 2026, forward in Berlin on 29 March.
        ("America/New_York", datetime(2026, 10, 30, 0, 0, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2026, 3, 27, 0, 0, tzinfo=UTC)),
        ("Australia/Sydney", datetime(2026, 4, 3, 0, 0, tzinfo=UTC)),  # back on 5 April
    ],
)
@pytest.mark.parametrize("send_hour", [0, 2, 23])
def test_a_daylight_saving_change_loses_and_doubles_nothing(zone, start, send_hour):
    reader = make_subscriber(
        "dst@example.org", keywords=["distillation"], time_zone=zone, send_hour=send_hour
    )
    papers = _run_days(start, 5, reader)

    _assert_each_paper_once(reader, papers)


def _assert_each_paper_once(reader, papers) -> None:
    """Each paper announced before the reader's last digest went out is in exactly one of
    their digests, and they had one digest a local day. (A digest may be empty: when a
    clock change brings the send hour back before the next listing arrives.)"""
    rows = list(Delivery.objects.filter(subscriber=reader).order_by("created_at"))
    statuses = {r.status for r in rows}
    assert statuses <= {Delivery.Status.SENT, Delivery.Status.EMPTY}, statuses
    dates = [r.digest_date for r in rows]
    assert len(dates) == len(set(dates)) >= 3
    last = rows[-1].created_at
    due = [p.pk for p in papers if p.first_seen_at < last]
    carried = Counter(
        DeliveryItem.objects.filter(delivery__subscriber=reader).values_list("paper_id", flat=True)
    )
    assert {pk: carried[pk] for pk in due} == {pk: 1 for pk in due}
    assert all(count == 1 for count in carried.values())


def test_moving_west_after_the_days_digest_brings_no_second_digest_that_day(mailoutbox):
    """07:30 on the 4th in Tokyo is 18:30 on the 3rd in New York: a reader who moves there
    after their digest of the 4th must not get one of the 3rd an hour later, with the
    papers that did not fit in the first."""
    with time_machine.travel(datetime(2026, 12, 3, 22, 30, tzinfo=UTC)):
        for n in range(4):
            make_paper(f"Distillation paper {n}", announced_on=datetime(2026, 12, 3).date())
        reader = make_subscriber(
            "traveller@example.org", keywords=["distillation"], time_zone="Asia/Tokyo",
            send_hour=7, paper_limit=2,
        )  # fmt: skip
        sending.send_due()
    assert len(mailoutbox) == 1

    reader.time_zone = "America/New_York"
    reader.save(update_fields=["time_zone"])
    with time_machine.travel(datetime(2026, 12, 3, 23, 30, tzinfo=UTC)):
        sending.send_due()
    assert len(mailoutbox) == 1

    with time_machine.travel(datetime(2026, 12, 5, 12, 30, tzinfo=UTC)):  # 07:30 on the 5th
        sending.send_due()
    assert len(mailoutbox) == 2
