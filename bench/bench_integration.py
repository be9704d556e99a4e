"""The integration day's throughput with 1, 2 and 4 Celery worker processes.

Real servers on loopback, started here (the same helpers as tests/integration): PostgreSQL,
Redis, an aiosmtpd sink, today's arXiv feeds over HTTP. The morning (migrate, `manage.py
ingest` of four feeds, N readers) is built once; each run starts from a copy of it, starts
W worker processes (`--pool prefork --concurrency 1`, all queues), queues one tick and
times until every reader's digest is at the sink and marked sent in PostgreSQL.

    .venv/bin/python bench/bench_integration.py                 # 2,000 readers; 1, 2, 4
    .venv/bin/python bench/bench_integration.py --readers 500 --workers 1 2 --chunk 50
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration import feeds  # noqa: E402
from tests.integration.day import prepare_day  # noqa: E402
from tests.integration.deployment import Deployment, queue_is_drained, send_task  # noqa: E402
from tests.integration.servers import (  # noqa: E402
    FeedServer,
    PostgresServer,
    RedisServer,
    SmtpSink,
    postgres_bindir,
    redis_binary,
    wait_for,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--chunk", type=int, default=100, help="DELIVERY_CHUNK_SIZE")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (best)")
    return parser.parse_args()


def machine_cpu() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]) - idle, sum(fields[:8])


def group_cpu(groups: set[int]) -> int:
    """utime + stime clock ticks of every live process in these process groups."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:  # pgrp
            ticks += int(fields[11]) + int(fields[12])
    return ticks


def one_run(
    postgres: PostgresServer,
    redis: RedisServer,
    sink: SmtpSink,
    template: str,
    workers: int,
    readers: int,
    chunk: int,
    run: int,
) -> dict:
    url = postgres.create_database(f"bench_{workers}_{run + 1}", template=template)
    redis.client().flushall()
    sink.reset()
    workdir = Path(tempfile.mkdtemp(prefix=f"paperboy-bench-{workers}-"))
    site = Deployment(
        url,
        redis.url,
        sink.url,
        workdir,
        extra_env={"DELIVERY_CHUNK_SIZE": str(chunk), "DELIVERY_LEASE_SECONDS": "600"},
    )
    try:
        for n in range(workers):
            site.start_worker(f"w{n + 1}", concurrency=1, wait=False)
        for process in site.processes:
            wait_for(process.is_ready, 120, f"worker {process.name}")
        groups = {p.process.pid for p in site.processes}
        workers_before, (busy_before, total_before) = group_cpu(groups), machine_cpu()
        started = time.monotonic()
        send_task(redis.url, "digest.tasks.tick")
        polls = iter(range(10**9))

        def done() -> bool:
            if next(polls) % 40 == 39:  # every 2 s: a failed task fails the run at once
                site.check_no_task_failed()
            return sink.count() >= readers and site.delivery_statuses().get("sent", 0) >= readers

        wait_for(done, 900, "every digest", every=0.05)
        elapsed = time.monotonic() - started
        workers_cpu = group_cpu(groups) - workers_before
        busy, total = machine_cpu()
        ticks_per_second = os.sysconf("SC_CLK_TCK")
        wait_for(lambda: queue_is_drained(redis.client()), 60, "the queues to drain")
        per_reader = Counter(r.recipient for r in sink.snapshot())
        assert len(per_reader) == readers and set(per_reader.values()) == {1}, "not once each"
        shares = sorted((p.sent() for p in site.processes), reverse=True)
        return {
            "workers": workers,
            "seconds": elapsed,
            "rate": readers / elapsed,
            "shares": shares,
            "busy": (busy - busy_before) / max(1, total - total_before),
            "worker_ms": 1000 * workers_cpu / ticks_per_second / readers,
            "other_ms": 1000 * ((busy - busy_before) - workers_cpu) / ticks_per_second / readers,
        }
    finally:
        site.stop_all()


def main() -> None:
    args = parse_args()
    bindir = postgres_bindir()
    if not redis_binary() or not bindir:
        sys.exit("needs redis-server and PostgreSQL: sudo bash deploy/install-test-services.sh")
    redis, postgres, sink, feed_server = (
        RedisServer(redis_binary() or "redis-server"),
        PostgresServer(bindir),
        SmtpSink(),
        FeedServer(),
    )
    now = datetime.now(UTC)
    for number, category in enumerate(feeds.TOPICS):
        body = feeds.arxiv_rss(category, 60, now, first_number=10000 + 100 * number)
        (feed_server.dir / f"rss-{category}.xml").write_bytes(body)
    recorded = ROOT / "tests/fixtures/feeds/arxiv-rss-2.0_cs.AI_2025-08-20_announce-types.xml"
    if recorded.exists():
        (feed_server.dir / recorded.name).write_bytes(recorded.read_bytes())
    for server in (redis, postgres, sink, feed_server):
        server.start()
    try:
        template = "bench_template"
        url = postgres.create_database(template)
        site = Deployment(url, redis.url, sink.url, Path(tempfile.mkdtemp()))
        morning = time.monotonic()
        site.manage("migrate", "--noinput")
        migrated = time.monotonic()
        prepare_day(site, feed_server, readers=args.readers)
        prepared = time.monotonic()
        papers = site.query("SELECT count(*) FROM digest_paper")[0][0]
        print(
            f"# {args.readers} readers, {papers} papers, chunk {args.chunk}; "
            f"{os.cpu_count()} CPUs, {platform.python_implementation()} "
            f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}"
        )
        print(
            f"# morning: migrate {migrated - morning:.1f} s, ingest 5 feeds + "
            f"{args.readers} readers {prepared - migrated:.1f} s"
        )
        # One discarded run first: the first worker process pays for cold imports and a
        # cold PostgreSQL cache, which would otherwise all land on the 1-worker figure.
        one_run(postgres, redis, sink, template, max(args.workers), args.readers, args.chunk, -1)
        print(
            "| worker processes | day's sending, wall (s) | digests/s | digests per worker "
            "| machine CPU busy | worker CPU ms/digest | rest (Postgres, sink, OS) ms/digest |"
        )
        print("|---|---|---|---|---|---|---|")
        for workers in args.workers:
            runs = [
                one_run(postgres, redis, sink, template, workers, args.readers, args.chunk, run)
                for run in range(args.repeat)
            ]
            best = min(runs, key=lambda r: r["seconds"])
            shares = " / ".join(str(s) for s in best["shares"])
            print(
                f"| {workers} | {best['seconds']:.1f} | {best['rate']:.0f} | {shares} "
                f"| {best['busy']:.0%} | {best['worker_ms']:.1f} | {best['other_ms']:.1f} |"
            )
            sys.stdout.flush()
    finally:
        for server in (sink, feed_server):
            server.stop()
        redis.close()
        postgres.stop()


if __name__ == "__main__":
    main()
