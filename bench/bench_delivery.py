"""Delivery benchmark: build, render and send a day's digests to a local SMTP sink.

    .venv/bin/python bench/bench_delivery.py                  # 100,000 subscribers
    .venv/bin/python bench/bench_delivery.py --subscribers 20000 --papers 2000

A fresh SQLite file in a temporary folder gets the papers and subscribers (bulk-created),
then two phases run over the same rows:

1. build + render: claim each chunk, pick its papers (ranking), render every digest to
   the bytes that would go on the wire; nothing is sent, the rows are then reset.
2. full delivery: `digest.delivery.send_chunk` on every chunk, exactly as the Celery task
   calls it, over SMTP to an aiosmtpd sink running in a separate process on 127.0.0.1:
   claim, load, render, send, record. It reuses phase 1's picks (as a re-claimed row
   does), so ranking, which another module owns, is timed once, in phase 1;
   --rank-again times it in both.

It prints digests per second for each phase (and the ranking's share), queries per chunk
and the peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SINK = r"""
import asyncio, sys, time
from aiosmtpd.controller import Controller

class Sink:
    count = 0
    size = 0
    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        Sink.size += len(envelope.original_content)
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
try:
    for line in sys.stdin:
        if line.strip() == "count":
            print(Sink.count, Sink.size, time.process_time(), flush=True)
finally:
    controller.stop()
"""

WORDS = [
    "distillation", "diffusion", "retrieval", "transformer", "agents", "alignment",
    "quantization", "reasoning", "robotics", "protein", "graph", "federated", "multimodal",
    "speech", "vision", "tokenizer", "benchmark", "reinforcement", "contrastive", "sparse",
    "attention", "memory", "compression", "planning", "dialogue", "segmentation", "detection",
    "watermarking", "privacy", "calibration", "uncertainty", "kernel",
]  # fmt: skip
CATEGORIES = [
    "cs.CL", "cs.LG", "cs.CV", "cs.AI", "cs.RO", "stat.ML", "q-bio.BM", "cs.IR", "cs.CR",
    "eess.AS", "cs.NE", "math.OC",
]  # fmt: skip


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_environment(folder: Path, port: int, chunk: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "digest.settings",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "PAPERBOY_VAR_DIR": str(folder),
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "DELIVERY_CHUNK_SIZE": str(chunk),
            "LOG_LEVEL": "WARNING",
            "SITE_URL": "https://paperboy.example.org",
        }
    )
    # Outside DEBUG the settings refuse to load without a key; a throw-away one will do.
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(40))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(papers: int, subscribers: int, rng: random.Random) -> None:
    from django.utils import timezone

    from digest.models import Paper, Source
    from subscriptions.models import Interest, Subscriber

    Source.objects.all().delete()
    today = timezone.localdate()
    rows = []
    for n in range(papers):
        words = rng.sample(WORDS, 4)
        abstract = " ".join(
            f"We study {rng.choice(WORDS)} for {rng.choice(WORDS)} with {w} at scale."
            for w in rng.sample(WORDS, 8)
        )
        cats = rng.sample(CATEGORIES, 2)
        rows.append(
            Paper(
                arxiv_id=f"2511.{n:05d}",
                title=f"{words[0].title()} {words[1]} for {words[2]} and {words[3]} ({n})",
                title_text=f"{words[0].title()} {words[1]} for {words[2]} and {words[3]} ({n})",
                abstract=abstract,
                abstract_text=abstract,
                authors=[f"Author {n}-{a} Lastname" for a in range(rng.randint(2, 40))],
                categories=cats,
                primary_category=cats[0],
                announced_on=today - timedelta_days(rng.randint(0, 2)),
                upvotes=rng.choice([0, 0, 0, 1, 3, 12, 40, 150]),
                hf_url=f"https://huggingface.co/papers/2511.{n:05d}" if n % 3 == 0 else "",
                code_url=f"https://github.com/example/repo-{n}" if n % 4 == 0 else "",
                organization="Example Lab" if n % 5 == 0 else "",
            )
        )
    Paper.objects.bulk_create(rows, batch_size=500)
    people = [
        Subscriber(
            email=f"reader{n}@example.org",
            status=Subscriber.Status.ACTIVE,
            paper_limit=rng.choice([5, 10, 10, 10, 20]),
            send_hour=0,
        )
        for n in range(subscribers)
    ]
    Subscriber.objects.bulk_create(people, batch_size=2000)
    ids = Subscriber.objects.values_list("pk", flat=True)
    Interest.objects.bulk_create(
        [
            Interest(
                subscriber_id=pk,
                keywords=rng.sample(WORDS, rng.randint(1, 3)),
                categories=rng.sample(CATEGORIES, rng.randint(0, 1)),
            )
            for pk in ids
        ],
        batch_size=2000,
    )


def timedelta_days(days: int):
    from datetime import timedelta

    return timedelta(days=days)


def build_and_render(now, rank_again: bool) -> dict:
    """Phase 1: claim, rank, render to wire bytes; then put every row back."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from digest.delivery import items, planning
    from digest.delivery.rendering import DigestRenderer
    from digest.models import Delivery, DeliveryItem, Paper

    ids = planning.claimable_delivery_ids(now)
    rank_seconds = render_seconds = render_cpu = 0.0
    digests = size = largest = queries = 0
    for chunk in planning.chunked(ids, settings.DELIVERY_CHUNK_SIZE):
        with CaptureQueriesContext(connection) as captured:
            token, rows = planning.claim(chunk, now)
            started = time.perf_counter()
            picked = items.pick_papers(rows)
            paper_ids = {i.paper_id for group in picked.values() for i in group}
            papers = {p.pk: p for p in Paper.objects.filter(pk__in=paper_ids)}
            rank_seconds += time.perf_counter() - started
        queries = max(queries, len(captured))
        started, cpu = time.perf_counter(), time.process_time()
        renderer = DigestRenderer(papers=papers.values())  # as send_chunk does
        for row in rows:
            chosen = picked.get(row.pk, [])
            if not chosen:
                continue
            email = renderer.email(row, [(i, papers[i.paper_id]) for i in chosen])
            wire = email.as_bytes()
            digests += 1
            size += len(wire)
            largest = max(largest, len(email.html.encode()))
        render_seconds += time.perf_counter() - started
        render_cpu += time.process_time() - cpu
    # Back to pending. The picks stay (as they do for a row a dead worker left), so phase
    # 2 measures delivery itself; --rank-again makes it rank from scratch too.
    if rank_again:
        DeliveryItem.objects.all().delete()
    Delivery.objects.update(status=Delivery.Status.PENDING, claim_token="", claimed_at=None)
    return {
        "digests": digests,
        "rank_seconds": rank_seconds,
        "render_seconds": render_seconds,
        "render_cpu": render_cpu,
        "mean_bytes": size / max(digests, 1),
        "largest_html": largest,
        "queries_per_chunk_build": queries,
    }


def deliver(now) -> dict:
    """Phase 2: the production path, chunk by chunk, into the SMTP sink."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from digest.delivery import outcomes, planning, sending

    ids = planning.claimable_delivery_ids(now)
    report = outcomes.SendReport()
    queries: list[int] = []
    started, cpu = time.perf_counter(), time.process_time()
    for chunk in planning.chunked(ids, settings.DELIVERY_CHUNK_SIZE):
        with CaptureQueriesContext(connection) as captured:
            report.add(sending.send_chunk(chunk, now=now))
        queries.append(len(captured))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "sent": report.sent,
        "empty": report.empty,
        "failed": report.failed,
        "seconds": seconds,
        "cpu": cpu,
        "queries_per_chunk": (min(queries), max(queries)) if queries else (0, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-delivery", action="store_true")
    parser.add_argument(
        "--rank-again", action="store_true", help="phase 2 ranks again instead of reusing picks"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdin is not None and sink.stdout is not None
    assert sink.stdout.readline().strip() == "ready"
    with tempfile.TemporaryDirectory(prefix="paperboy-bench-") as folder:
        setup_environment(Path(folder), port, args.chunk)
        from django.utils import timezone

        from digest.delivery import planning

        started = time.perf_counter()
        seed(args.papers, args.subscribers, rng)
        print(
            f"seeded {args.papers} papers, {args.subscribers} subscribers "
            f"in {time.perf_counter() - started:.1f} s"
        )
        now = timezone.now()
        started = time.perf_counter()
        planned = planning.plan_deliveries(now, everyone=True)
        print(f"planned {planned} deliveries in {time.perf_counter() - started:.1f} s")

        built = build_and_render(now, args.rank_again)
        n = built["digests"]
        total = built["rank_seconds"] + built["render_seconds"]
        print(
            f"build+render: {n} digests in {total:.1f} s = {n / total:,.0f} digests/s "
            f"(ranking and loading {built['rank_seconds']:.1f} s; render to wire bytes "
            f"{built['render_seconds']:.1f} s = {n / built['render_seconds']:,.0f} digests/s, "
            f"CPU {built['render_cpu']:.1f} s = {n / built['render_cpu']:,.0f} digests/s)"
        )
        print(
            f"  render time per message {1000 * built['render_seconds'] / max(n, 1):.2f} ms "
            f"(context, both parts, headers, wire bytes)"
        )
        print(
            f"  mean message {built['mean_bytes'] / 1024:.1f} KiB, largest HTML part "
            f"{built['largest_html'] / 1024:.1f} KiB, at most "
            f"{built['queries_per_chunk_build']} queries to build a chunk"
        )
        if not args.skip_delivery:
            sent = deliver(now)
            sink.stdin.write("count\n")
            sink.stdin.flush()
            counts = sink.stdout.readline().split()
            received, received_bytes, sink_cpu = int(counts[0]), int(counts[1]), float(counts[2])
            what = "ranked again" if args.rank_again else "picks from phase 1"
            print(
                f"full delivery ({what}): {sent['sent']} sent ({sent['empty']} empty, "
                f"{sent['failed']} failed) in {sent['seconds']:.1f} s = "
                f"{sent['sent'] / sent['seconds']:,.0f} digests/s (this process's CPU "
                f"{sent['cpu']:.1f} s); sink received "
                f"{received} messages, {received_bytes / 2**20:.0f} MiB, using {sink_cpu:.1f} s "
                f"of its own CPU; queries per chunk "
                f"{sent['queries_per_chunk'][0]}-{sent['queries_per_chunk'][1]}"
            )
            assert received == sent["sent"], "the sink must have exactly one copy of each"
        print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (max RSS of this process): {peak:,.0f} MiB")
    sink.stdin.close()
    sink.wait(timeout=10)


if __name__ == "__main__":
    main()
