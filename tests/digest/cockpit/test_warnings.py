"""Each warning that needs a person: what triggers it, and that quiet days raise none."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import checks as django_checks
from django.core.management import call_command
from django.urls import reverse

from digest.cockpit import services, stats, warnings
from digest.delivery import planning, sending
from digest.ingest.pipeline import load_snapshot
from digest.models import Delivery, FetchRun, Paper, Source
from digest.ops import checks
from digest.ranking import glossary
from subscriptions.models import RefitRequest
from tests.digest.cockpit.conftest import at, deliveries
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

# A Monday noon; the week before it has weekdays Mon 16 .. Fri 20 November.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def quiet(settings, monkeypatch):
    """A healthy deployment: every weekday had papers, no deploy check fires."""
    settings.COCKPIT_MIN_TRIED = 10
    Source.objects.all().delete()
    for n in range(1, 8):
        make_paper(f"Paper {n}", announced_on=date(2026, 11, 23) - timedelta(days=n))
    monkeypatch.setattr(checks, "shared_cache_for_a_shared_database", lambda configs: [])
    monkeypatch.setattr(checks, "sentence_encoder_installed", lambda configs: [])


def codes(now: datetime = NOW) -> list[str]:
    with at(now):
        return [alert.code for alert in warnings.alerts_collect(now)]


def test_a_healthy_service_needs_no_one():
    assert codes() == []


def test_a_source_whose_last_runs_all_failed(settings):
    settings.COCKPIT_FAILED_RUNS = 3
    source = Source.objects.create(name="arXiv cs.LG", kind="arxiv-rss", url="https://a.test/")
    for status in ("ok", "failed", "failed"):
        FetchRun.objects.create(source=source, kind=source.kind, url=source.url, status=status)
    assert codes() == []  # two failures after a success: not yet

    FetchRun.objects.create(
        source=source, kind=source.kind, url=source.url, status="failed", error="HTTP 503"
    )
    with at(NOW):
        [alert] = warnings.alerts_collect(NOW)
    assert alert.code == "source-failing"
    assert "arXiv cs.LG" in alert.message and "HTTP 503" in alert.message


def test_a_disabled_source_failing_is_not_a_warning():
    source = Source.objects.create(
        name="off", kind="arxiv-rss", url="https://a.test/", enabled=False
    )
    for _ in range(5):
        FetchRun.objects.create(source=source, kind=source.kind, url=source.url, status="failed")
    assert codes() == []


def test_a_fetch_run_that_never_finished(settings):
    source = Source.objects.create(name="arXiv cs.LG", kind="arxiv-rss", url="https://a.test/lg")
    with at(NOW - timedelta(minutes=59)):
        FetchRun.objects.create(source=source, kind=source.kind, url=source.url)
    assert codes() == []  # a pull may take this long (a backfill, arXiv's 3 s slots)
    FetchRun.objects.all().delete()
    with at(NOW - timedelta(hours=3)):
        FetchRun.objects.create(source=source, kind=source.kind, url=source.url)

    with at(NOW):
        [alert] = warnings.alerts_collect(NOW)
    assert alert.code == "fetch-runs-unfinished"
    assert alert.message.startswith(
        "1 source's last fetch run started over an hour ago and never finished (the latest: "
        "“arXiv cs.LG” at "
    )
    assert alert.link.endswith("?status__exact=running")


def test_a_weekday_without_new_papers():
    Paper.objects.filter(announced_on=date(2026, 11, 18)).delete()  # a Wednesday
    with at(NOW):
        [alert] = warnings.alerts_collect(NOW)
    assert alert.code == "weekday-without-papers"
    assert "Wednesday 18 November" in alert.message


def test_a_weekend_without_papers_is_normal():
    Paper.objects.filter(announced_on__in=[date(2026, 11, 21), date(2026, 11, 22)]).delete()
    assert codes() == []


def fresh_install(moment: datetime) -> None:
    """A new database with only `load_snapshot` run at `moment`: its papers are that
    day's, and no source has been pulled yet."""
    Paper.objects.all().delete()
    with at(moment):
        load_snapshot()


def test_a_fresh_install_with_todays_snapshot_needs_no_one():
    fresh_install(NOW)
    assert codes() == []


def test_days_before_the_first_papers_are_not_gaps():
    # Installed on Thursday 19: the Monday to Wednesday before it were never ours to miss.
    Paper.objects.filter(announced_on__lt=date(2026, 11, 19)).delete()
    assert codes() == []


def test_a_fresh_install_that_never_pulls_warns_on_the_first_weekday_it_misses():
    fresh_install(NOW)  # Monday 23
    assert codes(NOW + timedelta(days=1)) == []  # Tuesday's listing may still come
    with at(NOW + timedelta(days=2)):
        [alert] = warnings.alerts_collect(NOW + timedelta(days=2))
    assert alert.code == "weekday-without-papers"
    assert alert.message == (
        "No new papers were announced on Tuesday 24 November (the newest are from "
        "Monday 23 November, and no pull of a source has succeeded yet): check the "
        "sources' fetch runs."
    )


def test_a_running_service_whose_papers_stopped_says_when_it_last_pulled():
    source = Source.objects.create(name="arXiv cs.LG", kind="arxiv-rss", url="https://a.test/")
    with at(datetime(2026, 11, 19, 6, 0, tzinfo=UTC)):
        FetchRun.objects.create(
            source=source,
            kind=source.kind,
            url=source.url,
            status=FetchRun.Status.OK,
            finished_at=datetime(2026, 11, 19, 6, 1, tzinfo=UTC),
        )
    Paper.objects.filter(announced_on__gte=date(2026, 11, 20)).delete()
    with at(NOW):
        [alert] = warnings.alerts_collect(NOW)
    assert alert.message == (
        "No new papers were announced on Friday 20 November (the newest are from "
        "Thursday 19 November, and the latest successful pull finished on Thursday "
        "19 November at 06:01): check the sources' fetch runs."
    )


def subscribers(count: int):
    return [make_subscriber(f"s{n}@example.org") for n in range(count)]


def test_a_failure_rate_over_the_threshold(settings):
    settings.COCKPIT_FAILURE_RATE = 0.05
    people = subscribers(20)
    deliveries(NOW.date(), people, ["sent"] * 19 + ["failed"])
    assert codes() == []  # 5 %: at the threshold, not over it

    Delivery.objects.filter(subscriber=people[0]).update(status="failed")
    assert codes() == ["failure-rate"]


def test_too_few_digests_tried_say_nothing_about_a_rate():
    deliveries(NOW.date(), subscribers(3), ["failed"] * 3)
    assert codes() == []


def test_a_bounce_rate_over_the_threshold(settings):
    settings.COCKPIT_BOUNCE_RATE = 0.02
    deliveries(NOW.date(), subscribers(20), ["sent"] * 20)
    stats.counter_add(stats.BOUNCED, day=NOW.date())
    stats.counter_add(stats.COMPLAINED, day=NOW.date())
    assert codes() == ["bounce-rate"]


def test_early_in_the_day_yesterdays_rates_are_judged():
    deliveries(NOW.date() - timedelta(days=1), subscribers(20), ["failed"] * 20)
    assert codes() == ["failure-rate"]


def test_digests_failing_east_of_utc_that_already_carry_tomorrows_date_are_judged_today(
    admin_client,
):
    # 22:00 UTC is 07:00 tomorrow in Tokyo: those readers' digests are of tomorrow.
    tokyo = [make_subscriber(f"t{n}@example.org", time_zone="Asia/Tokyo") for n in range(20)]
    deliveries(NOW.date() + timedelta(days=1), tokyo, ["failed"] * 20)
    evening = NOW.replace(hour=22)
    with at(evening):
        [alert] = warnings.alerts_collect(evening)

    assert alert.code == "failure-rate"
    listed = admin_client.get(alert.link).content.decode()
    assert "t0@example.org" in listed


def test_deliveries_stuck_past_their_lease(settings):
    settings.DELIVERY_LEASE_SECONDS = 600
    [alice, bob] = subscribers(2)
    Delivery.objects.create(
        subscriber=alice, digest_date=NOW.date(), status="sending",
        claimed_at=NOW - timedelta(seconds=599),
    )  # fmt: skip
    assert codes() == []
    Delivery.objects.create(
        subscriber=bob, digest_date=NOW.date(), status="sending",
        claimed_at=NOW - timedelta(seconds=601),
    )  # fmt: skip
    assert codes() == ["deliveries-stuck"]


def test_digests_pending_with_their_attempts_used_up(settings):
    settings.DELIVERY_MAX_ATTEMPTS = 5
    [alice, bob] = subscribers(2)
    Delivery.objects.create(subscriber=alice, digest_date=NOW.date(), attempts=4)
    assert codes() == []
    Delivery.objects.create(subscriber=bob, digest_date=NOW.date(), attempts=5)
    assert codes() == ["attempts-used-up"]


def test_digests_waiting_over_an_hour_say_what_held_them(settings):
    [alice, bob] = subscribers(2)
    refused = "mail server unavailable: [Errno 111] Connection refused"
    with at(NOW - timedelta(minutes=59)):
        Delivery.objects.create(subscriber=alice, digest_date=NOW.date(), error=refused)
    assert codes() == []
    with at(NOW - timedelta(minutes=61)):
        Delivery.objects.create(subscriber=bob, digest_date=NOW.date(), error=refused)

    with at(NOW):
        [alert] = warnings.alerts_collect(NOW)
    assert alert.code == "digests-waiting"
    assert alert.message.startswith("1 digest has waited over an hour to be sent")
    assert refused in alert.message
    assert alert.link.endswith("?status__exact=pending")


def test_digests_waiting_that_were_never_tried_ask_whether_anything_sends():
    with at(NOW - timedelta(hours=3)):
        deliveries(NOW.date(), subscribers(2), ["pending", "pending"])

    with at(NOW):
        [alert] = warnings.alerts_collect(NOW)
    assert alert.message.startswith("2 digests have waited over an hour to be sent")
    assert "are the send workers and beat running?" in alert.message


def resend(client, changelist: str, action: str, *rows) -> None:
    data = {"action": action, "_selected_action": [row.pk for row in rows], "confirm": "yes"}
    client.post(reverse(changelist), data)


def test_a_digest_resent_from_an_earlier_day_waits_from_its_resend(admin_client):
    [alice] = subscribers(1)
    with at(NOW - timedelta(days=2)):
        sent = Delivery.objects.create(
            subscriber=alice, digest_date=NOW.date() - timedelta(days=2), status="sent"
        )
    with at(NOW):
        resend(admin_client, "admin:digest_delivery_changelist", "resend", sent)

    # The next send tick takes it within five minutes: nothing to say until an hour on.
    assert codes(NOW + timedelta(minutes=5)) == []
    assert codes(NOW + timedelta(minutes=59)) == []
    assert codes(NOW + timedelta(minutes=61)) == ["digests-waiting"]


def test_todays_digest_resent_from_the_subscribers_page_waits_from_its_resend(admin_client):
    [alice] = subscribers(1)
    with at(NOW - timedelta(hours=5)):
        Delivery.objects.create(subscriber=alice, digest_date=NOW.date(), status="sent")
    with at(NOW):
        resend(admin_client, "admin:subscriptions_subscriber_changelist", "resend_today", alice)

    assert Delivery.objects.get(subscriber=alice).status == "pending"
    assert codes(NOW + timedelta(minutes=5)) == []
    assert codes(NOW + timedelta(minutes=61)) == ["digests-waiting"]


def test_a_cancelled_digest_planned_again_waits_from_then():
    [alice] = subscribers(1)
    # She unsubscribed before her digest went out, and came back at noon.
    with at(NOW - timedelta(hours=3)):
        Delivery.objects.create(subscriber=alice, digest_date=NOW.date(), status="cancelled")
    with at(NOW):
        planning.plan_deliveries(NOW)

    assert Delivery.objects.get(subscriber=alice).status == "pending"
    assert codes(NOW + timedelta(minutes=5)) == []
    assert codes(NOW + timedelta(minutes=61)) == ["digests-waiting"]


def test_a_digest_the_mail_server_keeps_refusing_waits_from_when_it_was_planned(settings):
    """Given back after a refusal, a row waits for its retry: that is no new start."""
    [alice] = subscribers(1)
    with at(NOW - timedelta(hours=2)):
        planning.plan_deliveries(NOW - timedelta(hours=2))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with at(NOW - timedelta(minutes=10)), pytest.raises(sending.TemporarySendError):
        sending.send_chunk(list(Delivery.objects.values_list("pk", flat=True)))

    assert Delivery.objects.get(subscriber=alice).status == "pending"
    assert codes(NOW) == ["digests-waiting"]


def test_learners_waiting_over_an_hour_for_their_refit():
    [alice, bob] = subscribers(2)
    RefitRequest.objects.create(subscriber=alice, requested_at=NOW - timedelta(minutes=59))
    assert codes() == []
    RefitRequest.objects.create(subscriber=bob, requested_at=NOW - timedelta(minutes=61))
    assert codes() == ["learners-waiting"]


def test_the_encoder_missing_and_a_per_process_cache(monkeypatch):
    w002 = django_checks.Warning("The sentence encoder is not installed", id="digest.W002")
    w001 = django_checks.Warning(
        "The default cache is private", hint="Set CACHE_URL", id="digest.W001"
    )
    monkeypatch.setattr(checks, "sentence_encoder_installed", lambda configs: [w002])
    monkeypatch.setattr(checks, "shared_cache_for_a_shared_database", lambda configs: [w001])
    assert sorted(codes()) == ["check-digest.W001", "check-digest.W002"]


def test_an_unreadable_ranking_glossary(tmp_path, monkeypatch):
    assert codes() == []
    monkeypatch.setattr(glossary, "GLOSSARY_PATH", tmp_path / "missing.json")
    assert codes() == ["check-digest.W004"]


def test_the_hourly_watch_logs_each_warning_and_rolls_the_final_days_up(caplog):
    Paper.objects.filter(announced_on=date(2026, 11, 20)).delete()
    with at(NOW), caplog.at_level(logging.WARNING, logger="digest.cockpit.warnings"):
        alerts = services.cockpit_watch(NOW)
    assert [a.code for a in alerts] == ["weekday-without-papers"]
    assert "No new papers were announced on Friday 20 November" in caplog.text
    assert stats.days_missing(date(2026, 11, 8), date(2026, 11, 21)) == []


def test_the_rollup_command_fills_the_days_and_prints_the_warnings():
    Paper.objects.filter(announced_on=date(2026, 11, 20)).delete()
    out = io.StringIO()
    with at(NOW):
        call_command("cockpit_rollup", "--days", "3", stdout=out)
        call_command("cockpit_rollup", "--days", "3", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Rolled up 3 day(s)."
    assert lines[1].startswith("WARNING weekday-without-papers: No new papers")
    assert lines[2] == "Rolled up 0 day(s)."
