"""A test run leaves nothing in the checkout for the developer's own worker to pick up."""

from pathlib import Path

from django.conf import settings

from digest import tasks

CHECKOUT_QUEUE = Path(settings.BASE_DIR) / "var" / "broker" / "out"


def messages_in(folder: Path) -> str:
    return "".join(p.read_text() for p in folder.glob("*")) if folder.exists() else ""


def test_a_task_a_test_queues_waits_in_the_test_runs_own_folder():
    queued = tasks.prepare_ranking.delay()
    own = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])
    assert queued.id in messages_in(own)
    assert queued.id not in messages_in(CHECKOUT_QUEUE)
