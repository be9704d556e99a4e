"""The default beat schedule, kept in django-celery-beat's tables so staff can change it.

Created after every migrate if missing; staff edits are never overwritten.
"""

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

# Minutes between send ticks. The confirmed page's promise of a first digest rounds up to
# the next tick with it (planning.first_digest), so it is named once, here.
SEND_TICK_MINUTES = 5

DEFAULT_TASKS = [
    # Ingestion first: every hour, each source whose own interval (Source.fetch_every) is
    # up is pulled; arXiv rebuilds its feeds at midnight US Eastern (04:00/05:00 UTC).
    ("Ingest due sources", "digest.tasks.ingest_due", {"minute": "15", "hour": "*"}),
    # The send tick: each subscriber's digest goes out at their hour in their time zone.
    ("Send due digests", "digest.tasks.tick", {"minute": f"*/{SEND_TICK_MINUTES}", "hour": "*"}),
    # The cockpit: yesterday's numbers rolled up once, every warning logged each hour.
    ("Cockpit watch", "digest.tasks.cockpit_watch", {"minute": "40", "hour": "*"}),
    # Answers queue their refit themselves; this sweep catches one whose task was lost
    # (a broker down at the time, a worker killed mid-task).
    ("Refit waiting learners", "digest.tasks.refit_requested_learners", {"minute": "*/10"}),
]


def ensure_default_schedule(**kwargs) -> None:
    with transaction.atomic():
        for name, task, crontab in DEFAULT_TASKS:
            if PeriodicTask.objects.filter(name=name).exists():
                continue
            schedule, _ = CrontabSchedule.objects.get_or_create(
                day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC", **crontab
            )
            PeriodicTask.objects.create(name=name, task=task, crontab=schedule)
