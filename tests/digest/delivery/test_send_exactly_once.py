"""Nobody ever gets a digest twice: reruns, duplicated tasks, retries, lease take-over,
two senders at once; and a chunk costs the same handful of queries whatever its size."""

import os
import signal
import sys
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings

from digest import tasks
from digest.celery import app as celery_app
from digest.delivery import items, outcomes, planning, sending
from digest.lib.commands import sigterm_sets
from digest.models import Delivery, DeliveryItem
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber
from tests.helpers.processes import finish, manage

pytestmark = pytest.mark.usefixtures("on_monday")


@pytest.fixture
def papers(db):
    return [
        make_paper("Knowledge distillation for small language models", categories=("cs.CL",)),
        make_paper("Distillation of diffusion samplers", categories=("cs.LG",), upvotes=5),
        make_paper("Diffusion models for protein design", categories=("q-bio.BM",)),
        make_paper("A survey of graph neural networks", categories=("cs.LG",)),
    ]


def readers(count: int) -> list:
    return [
        make_subscriber(f"reader{n}@example.org", keywords=["distillation"]) for n in range(count)
    ]


@pytest.fixture
def eager_celery(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.mark.django_db
def test_running_the_send_twice_sends_each_digest_once(smtp_server, papers):  # noqa: F811
    readers(5)

    first = sending.send_due(everyone=True)
    second = sending.send_due(everyone=True)

    assert (first.sent, second.sent, second.planned) == (5, 0, 0)
    assert sorted(smtp_server.recipients) == [f"reader{n}@example.org" for n in range(5)]


@pytest.mark.django_db
def test_two_ticks_and_a_duplicated_chunk_task_send_each_digest_once(
    smtp_server,
    papers,
    eager_celery,
):
    readers(4)

    with time_machine.travel(MONDAY_9_UTC):
        tasks.tick.apply()
        tasks.tick.apply()
    ids = list(Delivery.objects.values_list("pk", flat=True))
    tasks.send_chunk.apply(args=[ids])  # the broker delivered a chunk twice

    assert len(smtp_server.received) == 4
    assert len(set(smtp_server.recipients)) == 4
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


@pytest.mark.django_db
def test_a_retried_chunk_sends_only_what_the_first_try_did_not(smtp_server, papers):  # noqa: F811
    readers(4)
    smtp_server.script["reader2@example.org"] = ["451 4.3.0 Try again"]
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    with pytest.raises(sending.TemporarySendError):
        sending.send_chunk(ids)
    retry = sending.send_chunk(ids)
    again = sending.send_chunk(ids)

    assert (retry.sent, again.sent) == (1, 0)
    assert sorted(smtp_server.recipients) == [f"reader{n}@example.org" for n in range(4)]


@pytest.mark.django_db
def test_a_dead_workers_claim_is_sent_once_after_the_lease(smtp_server, papers, settings):  # noqa: F811
    readers(3)
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))
    planning.claim(ids, MONDAY_9_UTC)  # ... and the worker dies before sending

    lease = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    assert sending.send_chunk(ids, now=MONDAY_9_UTC + lease - timedelta(seconds=1)).sent == 0
    assert sending.send_chunk(ids, now=MONDAY_9_UTC + lease + timedelta(seconds=1)).sent == 3
    assert sending.send_chunk(ids, now=MONDAY_9_UTC + 3 * lease).sent == 0
    assert len(smtp_server.received) == 3


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_owner(papers):
    readers(1)
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    [row] = Delivery.objects.all()
    old_token, [old] = planning.claim([row.pk], MONDAY_9_UTC)
    later = MONDAY_9_UTC + timedelta(seconds=django_settings.DELIVERY_LEASE_SECONDS + 1)
    assert sending.send_chunk([row.pk], now=later).sent == 1

    stale = outcomes.Outcomes(old_token, outcomes.SendReport())
    stale.release([old])
    stale.flush()

    assert Delivery.objects.get().status == Delivery.Status.SENT


@pytest.mark.django_db
def test_a_retaken_row_keeps_the_papers_it_was_first_given(papers, settings):
    readers(1)
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    [row] = Delivery.objects.all()
    _, won = planning.claim([row.pk], MONDAY_9_UTC)
    first = [(i.paper_id, i.rank) for i in items.pick_papers(won)[row.pk]]
    make_paper("Distillation, the sequel", categories=("cs.LG",), upvotes=99)

    later = MONDAY_9_UTC + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    _, won = planning.claim([row.pk], later)
    again = [(i.paper_id, i.rank) for i in items.pick_papers(won)[row.pk]]

    assert again == first
    assert DeliveryItem.objects.count() == len(first)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [8, 40])
def test_a_chunk_costs_a_bounded_number_of_queries(papers, size, django_assert_max_num_queries):
    readers(size)
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    # claim 2, items 1, since 1, profiles 3, pool 2, insert 1, papers 1, upvote history 1
    # (the badges' rise), outcomes 1 (+ savepoints).
    with django_assert_max_num_queries(17):
        report = sending.send_chunk(ids)

    assert report.sent == size
    assert DeliveryItem.objects.count() == 2 * size


SEED = """
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber
for title in ["Knowledge distillation for small language models",
              "Distillation of diffusion samplers", "Diffusion models for protein design",
              "A survey of graph neural networks", "Distilled reward models"]:
    make_paper(title, categories=("cs.LG",))
for n in range({count}):
    make_subscriber(f"reader{{n}}@example.org", keywords=["distillation"])
"""


def test_two_senders_at_once_send_each_digest_once(smtp_server, tmp_path):  # noqa: F811
    """Two `send_digests` processes, started together on one SQLite file and one SMTP
    server, race for the same small chunks; every reader still gets exactly one digest."""
    count = 40
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "DELIVERY_CHUNK_SIZE": "3",
        "LOG_LEVEL": "WARNING",
    }
    finish(manage(env, "migrate", "--noinput"))
    finish(manage(env, "shell", "-c", SEED.format(count=count)))

    outputs = [finish(p) for p in [manage(env, "send_digests", "--all") for _ in range(2)]]

    assert sorted(smtp_server.recipients) == sorted(f"reader{n}@example.org" for n in range(count))
    sent = [int(out.split("sent ", 1)[1].split(",", 1)[0]) for out in outputs]
    assert sum(sent) == count, outputs


@pytest.mark.django_db
def test_a_given_back_row_waits_for_its_chunks_retry_before_the_tick_offers_it(
    smtp_server,
    papers,
):
    readers(1)
    smtp_server.always = "451 4.3.0 Try again"
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))
    with pytest.raises(sending.TemporarySendError):
        sending.send_chunk(ids, now=MONDAY_9_UTC)

    soon = MONDAY_9_UTC + planning.RETRY_PAUSE - timedelta(minutes=1)
    later = MONDAY_9_UTC + planning.RETRY_PAUSE + timedelta(minutes=1)
    assert planning.claimable_delivery_ids(soon) == []
    assert planning.claimable_delivery_ids(later) == ids


class ExplodingBackend:
    """Takes one message, then fails the way a bug would (not a mail error)."""

    sent: list = []

    def __init__(self, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        if ExplodingBackend.sent:
            raise RuntimeError("a bug, not a mail server")
        ExplodingBackend.sent.extend(messages)
        return len(messages)


@pytest.mark.django_db
def test_a_bug_mid_chunk_records_what_went_out_and_gives_back_the_rest(papers, settings):
    settings.EMAIL_BACKEND = f"{__name__}.ExplodingBackend"
    ExplodingBackend.sent = []
    readers(4)
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    with pytest.raises(RuntimeError, match="a bug"):
        sending.send_chunk(ids)

    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["pending", "pending", "pending", "sent"]
    assert len(ExplodingBackend.sent) == 1


@pytest.mark.django_db
def test_a_day_the_send_workers_missed_is_folded_into_the_next_days_digest(smtp_server):
    """Beat planned Monday's digest while no send worker ran; on Tuesday the reader gets
    one digest, with Monday's papers and Tuesday's, each once (it was two at once, with
    the same papers in both)."""
    tuesday = MONDAY_9_UTC + timedelta(days=1)
    for n in range(3):
        make_paper(f"Distillation, Monday {n}", announced_on=MONDAY_9_UTC.date())
    make_paper("Distillation, Tuesday", announced_on=tuesday.date())
    reader = make_subscriber("reader@example.org", keywords=["distillation"], send_hour=8)
    reader.paper_limit = 2
    reader.save(update_fields=["paper_limit"])
    planning.plan_deliveries(MONDAY_9_UTC)  # ... and nothing claims it

    with time_machine.travel(tuesday):
        report = sending.send_due()

    assert (report.sent, len(smtp_server.received)) == (1, 1)
    monday, today = Delivery.objects.order_by("digest_date")
    assert (monday.status, today.status) == (Delivery.Status.CANCELLED, Delivery.Status.SENT)
    assert "superseded by the digest of 2026-11-24" in monday.error
    carried = list(DeliveryItem.objects.values_list("paper_id", flat=True))
    assert len(carried) == len(set(carried)) == 2


@pytest.mark.django_db
def test_two_digests_of_one_reader_in_one_chunk_never_share_a_paper(smtp_server, papers):
    """Staff resend Sunday's digest, which failed before any paper was chosen, as Monday's
    is planned: both are ranked in one chunk, and the second must not repeat the first."""
    reader = make_subscriber("reader@example.org", keywords=["distillation"], paper_limit=1)
    sunday = Delivery.objects.create(
        subscriber=reader, digest_date=MONDAY_9_UTC.date() - timedelta(days=1)
    )
    Delivery.objects.filter(pk=sunday.pk).update(status=Delivery.Status.FAILED)
    planning.deliveries_requeue(Delivery.objects.filter(pk=sunday.pk), MONDAY_9_UTC)

    report = sending.send_due()

    assert (report.planned, report.sent, len(smtp_server.received)) == (1, 2, 2)
    carried = list(DeliveryItem.objects.values_list("paper_id", flat=True))
    assert len(carried) == len(set(carried)) == 2


def _main_thread_in(function_name: str, module_file: str) -> bool:
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        code = frame.f_code
        if code.co_name == function_name and code.co_filename.endswith(module_file):
            return True
        frame = frame.f_back
    return False


def _signal_once(number: int, sent: int, smtp_server, *, in_close: bool = False) -> None:
    """Sends this process `number` once the server took `sent` digests (and, `in_close`,
    once the sender waits for the last ones in flight): events, never durations."""

    def send() -> None:
        while len(smtp_server.received) < sent or (
            in_close and not _main_thread_in("close", "mail/mailer.py")
        ):
            time.sleep(0.005)
        # To the main thread, as the kernel sends a terminal's Ctrl-C to a process whose
        # other threads block it (digest.mail.mailer): delivered to this thread, the main
        # one would see it only once its wait ended, wherever it then was.
        signal.pthread_kill(threading.main_thread().ident or 0, number)

    threading.Thread(target=send, daemon=True).start()


def _assert_what_the_server_took_is_sent_and_the_rest_waits(smtp_server, count: int) -> None:
    sent = set(Delivery.objects.filter(status="sent").values_list("subscriber__email", flat=True))
    assert sent == set(smtp_server.recipients)
    assert Delivery.objects.filter(status="pending").count() == count - len(sent)


@pytest.mark.django_db
def test_a_sigterm_mid_send_stops_between_two_messages_and_records_them(smtp_server, papers):
    """`kill`, `timeout` or systemd stopping `send_digests`: it used to end at once, and
    the digests the server had taken went out again after the lease."""
    smtp_server.delay = 0.1
    readers(30)
    _signal_once(signal.SIGTERM, 3, smtp_server)

    with sigterm_sets(threading.Event()) as stop:
        report = sending.send_due(everyone=True, stop=stop)

    assert stop.is_set() and report.sent < 30
    _assert_what_the_server_took_is_sent_and_the_rest_waits(smtp_server, 30)
    assert sending.STOPPED in Delivery.objects.filter(status="pending").first().error


@pytest.fixture
def ctrl_c_raises():
    """Ctrl-C raises KeyboardInterrupt, as in a terminal. A process started in the
    background without job control inherits SIGINT ignored: CI's run started its
    session so, and the interruption the test below sends never came."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.django_db
@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_while_the_last_messages_are_in_flight_records_them_first(smtp_server, papers):
    """The interruption came while the sender waited for the messages on the wire, and
    they were left unrecorded: the server had taken them, the next run sent them again."""
    smtp_server.delay = 0.1
    readers(12)
    _signal_once(signal.SIGINT, 3, smtp_server, in_close=True)

    with pytest.raises(KeyboardInterrupt):
        sending.send_due(everyone=True)

    _assert_what_the_server_took_is_sent_and_the_rest_waits(smtp_server, 12)
