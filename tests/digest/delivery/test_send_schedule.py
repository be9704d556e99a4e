"""When digests go out: the beat schedule, and the weekly digest's week of papers."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from digest.delivery import planning, sending
from digest.delivery.schedule import DEFAULT_TASKS, ensure_default_schedule
from subscriptions.models import Subscriber
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

TUESDAY_9_UTC = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_migrate_leaves_ingestion_and_the_send_tick_scheduled():
    tasks = {t.task: t for t in PeriodicTask.objects.all()}

    assert tasks["digest.tasks.ingest_due"].crontab.hour == "*"
    assert tasks["digest.tasks.tick"].crontab.minute == "*/5"


def test_the_default_schedule_never_overwrites_a_staff_edit():
    tick = PeriodicTask.objects.get(task="digest.tasks.tick")
    tick.enabled = False
    tick.save()

    ensure_default_schedule()

    assert PeriodicTask.objects.filter(task="digest.tasks.tick").count() == 1
    assert not PeriodicTask.objects.get(task="digest.tasks.tick").enabled
    assert PeriodicTask.objects.count() >= len(DEFAULT_TASKS)


def test_the_first_digest_is_announced_at_a_tick_beat_really_runs(settings):
    # The confirmed page promises the first digest at the first send tick after the
    # grace: the tick of the schedule migrate gave beat, not a number of the page's own.
    settings.FIRST_DIGEST_DELAY = 30
    tick = PeriodicTask.objects.get(task="digest.tasks.tick").crontab.schedule
    reader = make_subscriber("reader@example.org", send_hour=0)  # the grace decides
    for minute in range(60):
        for second in (0, 30):
            confirmed = datetime(2026, 11, 24, 12, minute, second, tzinfo=UTC)
            reader.confirmed_at = confirmed
            grace_over = confirmed + timedelta(minutes=30)
            minutes = (grace_over.replace(second=0) + timedelta(minutes=m) for m in range(61))
            runs = (t for t in minutes if t.minute in tick.minute and t.hour in tick.hour)
            expected = next(t for t in runs if t >= grace_over)

            assert planning.first_digest(reader, confirmed)["at"] == expected, confirmed


def test_a_weekly_digest_draws_from_the_whole_week_and_a_daily_one_from_its_window(
    mailoutbox, settings
):
    settings.DIGEST_WINDOW_DAYS = 3
    today = TUESDAY_9_UTC.date()
    make_paper("Distillation five days ago", announced_on=today - timedelta(days=5))
    make_paper("Distillation yesterday", announced_on=today - timedelta(days=1))
    make_paper("Distillation last month", announced_on=today - timedelta(days=30))
    make_paper("Unrelated graph paper", announced_on=today)
    make_subscriber("daily@example.org", keywords=["distillation"], send_hour=0)
    make_subscriber(
        "weekly@example.org",
        keywords=["distillation"],
        send_hour=0,
        frequency=Subscriber.Frequency.WEEKLY,
        weekday=TUESDAY_9_UTC.weekday(),
    )

    with time_machine.travel(TUESDAY_9_UTC):
        assert sending.send_due().sent == 2

    bodies = {m.to[0]: m.body for m in mailoutbox}
    assert "five days ago" in bodies["weekly@example.org"]
    assert "yesterday" in bodies["weekly@example.org"]
    assert "five days ago" not in bodies["daily@example.org"]
    assert "yesterday" in bodies["daily@example.org"]
    assert all("last month" not in body for body in bodies.values())
    # The subject is the papers now (issue 15); the body says which digest it is.
    assert "your weekly digest" in bodies["weekly@example.org"]


def tick_entry() -> PeriodicTask:
    return PeriodicTask.objects.get(task="digest.tasks.tick")


def tick_on(**crontab: str) -> None:
    """Staff's edit of the send tick in the admin: every hour, in UTC unless said."""
    tick = tick_entry()
    tick.crontab = CrontabSchedule.objects.create(**{"hour": "*", "timezone": "UTC", **crontab})
    tick.save()


def reader_confirmed_at(moment: datetime) -> Subscriber:
    reader = make_subscriber("reader@example.org", send_hour=7)
    reader.confirmed_at = moment
    reader.save()
    return reader


def test_a_staff_edit_of_the_tick_moves_the_announced_time_with_it(settings):
    # Staff moved the send tick to seven minutes past each hour: the digest due at 07:00
    # is planned by the 07:07 tick, and the page must not promise 07:00.
    settings.FIRST_DIGEST_DELAY = 30
    tick_on(minute="7")
    now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    reader = reader_confirmed_at(now)

    first = planning.first_digest(reader, now)

    assert (first["at"], first["time"], first["soon"]) == (
        now.replace(hour=7, minute=7),
        "07:07",
        False,
    )


def test_a_tick_on_weekdays_only_announces_monday_to_a_saturday_subscriber(settings):
    settings.FIRST_DIGEST_DELAY = 30
    tick_on(minute="*/5", day_of_week="mon-fri")
    saturday = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    reader = reader_confirmed_at(saturday)

    first = planning.first_digest(reader, saturday)

    assert (first["day"], first["time"]) == ("Monday", "07:00")
    assert planning.due_digests(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))


def test_a_tick_in_another_time_zone_is_read_in_its_own(settings):
    # Every hour at :00 of Kolkata time (UTC+05:30) runs at half past the UTC hour.
    settings.FIRST_DIGEST_DELAY = 30
    tick_on(minute="0", timezone="Asia/Kolkata")
    now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    reader = make_subscriber("reader@example.org", send_hour=7)

    assert planning.first_digest(reader, now)["at"] == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def test_a_tick_every_fifteen_minutes_counts_from_its_last_run(settings):
    settings.FIRST_DIGEST_DELAY = 30
    tick = tick_entry()
    tick.crontab = None
    tick.interval = IntervalSchedule.objects.create(every=15, period=IntervalSchedule.MINUTES)
    tick.last_run_at = datetime(2026, 11, 23, 12, 2, tzinfo=UTC)
    tick.save()
    confirmed = datetime(2026, 11, 23, 12, 7, tzinfo=UTC)
    reader = reader_confirmed_at(confirmed)

    first = planning.first_digest(reader, confirmed)

    # The grace ends at 12:37; beat runs the tick at 12:02, 12:17, 12:32, 12:47.
    assert (first["at"], first["soon"]) == (datetime(2026, 11, 23, 12, 47, tzinfo=UTC), True)


@pytest.mark.parametrize(
    "edit",
    [
        {"enabled": False},
        {"expires": datetime(2026, 11, 23, 6, 0, tzinfo=UTC)},
        {"one_off": True, "total_run_count": 1},
    ],
    ids=["disabled", "expired", "ran-its-one-time"],
)
def test_with_no_send_tick_to_come_no_time_is_promised(settings, edit):
    settings.FIRST_DIGEST_DELAY = 30
    PeriodicTask.objects.filter(task="digest.tasks.tick").update(**edit)
    now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    reader = make_subscriber("reader@example.org", send_hour=7)

    assert planning.first_digest(reader, now) is None


def test_a_tick_staff_deleted_promises_nothing_either(settings):
    tick_entry().delete()
    reader = make_subscriber("reader@example.org", send_hour=7)

    assert planning.first_digest(reader, datetime(2026, 11, 23, 5, 0, tzinfo=UTC)) is None


def test_a_reader_who_turns_daily_late_in_the_week_gets_every_paper_since_their_weekly_one(
    mailoutbox, settings
):
    """Weekly on Tuesdays, daily from the Sunday after: the first daily digest carries
    everything since Tuesday's (the daily window of three days left Wednesday's out)."""
    settings.DIGEST_WINDOW_DAYS = 3
    reader = make_subscriber(
        "turns-daily@example.org",
        keywords=["distillation"],
        send_hour=0,
        frequency=Subscriber.Frequency.WEEKLY,
        weekday=TUESDAY_9_UTC.weekday(),
    )
    make_paper("Distillation on Tuesday", announced_on=TUESDAY_9_UTC.date())
    with time_machine.travel(TUESDAY_9_UTC):
        sending.send_due()
    for days, day in [(1, "Wednesday"), (3, "Friday"), (5, "Sunday")]:
        make_paper(f"Distillation on {day}", announced_on=(TUESDAY_9_UTC + timedelta(days)).date())

    reader.frequency = Subscriber.Frequency.DAILY
    reader.save(update_fields=["frequency"])
    with time_machine.travel(TUESDAY_9_UTC + timedelta(days=5)):
        sending.send_due()

    weekly, daily = (m.body for m in mailoutbox)
    assert "on Tuesday" in weekly
    assert all(f"on {day}" in daily for day in ("Wednesday", "Friday", "Sunday"))
    assert "on Tuesday" not in daily
