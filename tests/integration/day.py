"""The integration day: ingest today's feeds, 2,000 readers, and the checks every day ends with."""

from __future__ import annotations

from collections import Counter

from . import feeds
from .deployment import Deployment, queue_is_drained, settle
from .servers import FeedServer, RedisServer, SmtpSink, wait_for

READERS = 2000


def prepare_day(site: Deployment, feed_server: FeedServer, readers: int = READERS) -> None:
    """Pulls the feeds through `manage.py ingest` and creates the day's readers."""
    for category in feeds.TOPICS:
        output = site.ingest(feed_server.url(f"rss-{category}.xml"), "arxiv-rss")
        assert " ok: 60 new" in output, output
    # A recorded real feed from another day: ingested too, but outside today's window.
    recorded = "arxiv-rss-2.0_cs.AI_2025-08-20_announce-types.xml"
    if (feed_server.dir / recorded).exists():
        site.ingest(feed_server.url(recorded), "arxiv-rss")
    site.create_subscribers(readers, list(feeds.TOPICS))
    runs = site.query("SELECT status, count(*) FROM digest_fetchrun GROUP BY status")
    assert dict(runs).get("failed", 0) == 0, runs


def wait_until_delivered(
    site: Deployment, sink: SmtpSink, redis: RedisServer, readers: int, timeout: float
) -> None:
    """Every row finished, the queues drained, and a moment more for any late duplicate."""

    def finished() -> bool:
        site.check_no_task_failed()
        statuses = site.delivery_statuses()
        done = statuses.get("sent", 0) + statuses.get("empty", 0)
        return done >= readers and sink.count() >= readers

    try:
        wait_for(finished, timeout, f"{readers} digests at the sink and in the database")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{diagnosis(site, sink)}") from None
    wait_for(lambda: queue_is_drained(redis.client()), 60, "the Redis queues to drain")
    settle(1.5)


def diagnosis(site: Deployment, sink: SmtpSink) -> str:
    """What a stuck day looks like: rows by status, unfinished rows, workers' warnings."""
    unfinished = site.query(
        "SELECT id, status, attempts, claimed_at, left(error, 200) FROM digest_delivery "
        "WHERE status NOT IN ('sent', 'empty') ORDER BY id LIMIT 10"
    )
    lines = [
        f"statuses: {dict(site.delivery_statuses())}, at the sink: {sink.count()}",
        f"unfinished rows (first 10): {unfinished}",
    ]
    for process in site.processes:
        worrying = [
            f"{r.get('time', '')[11:23]} {r.get('level')} {str(r.get('message'))[:300]}"
            for r in process.records()
            if r.get("level") in ("WARNING", "ERROR", "CRITICAL")
        ]
        lines.append(f"{process.name} ({process.log_path}): {worrying[-8:]}")
    return "\n".join(lines)


def assert_one_digest_each(site: Deployment, sink: SmtpSink, readers: int = READERS) -> None:
    """Exactly one message per reader at the sink, and one sent Delivery row per reader."""
    received = sink.snapshot()
    per_reader = Counter(r.recipient for r in received)
    expected = {f"reader{i:05d}@example.org" for i in range(readers)}
    assert set(per_reader) == expected, (
        f"missing: {sorted(expected - set(per_reader))[:5]}, "
        f"unexpected: {sorted(set(per_reader) - expected)[:5]}"
    )
    doubled = {who: n for who, n in per_reader.items() if n != 1}
    assert not doubled, f"{len(doubled)} readers got more than one digest: {list(doubled)[:5]}"

    assert site.delivery_statuses() == Counter({"sent": readers})
    rows = site.query(
        "SELECT count(*), count(DISTINCT d.subscriber_id), count(DISTINCT d.message_id) "
        "FROM digest_delivery d"
    )[0]
    assert rows == (readers, readers, readers)
    # The database's record of each message is the message the sink accepted.
    stored = {row[0] for row in site.query("SELECT message_id FROM digest_delivery")}
    assert stored == {r.message_id for r in received}
    # And they are digests of today's papers, not empty-day notes.
    with_papers = site.query("SELECT count(DISTINCT delivery_id) FROM digest_deliveryitem")[0][0]
    assert with_papers == readers
