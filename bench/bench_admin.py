"""The staff console at production size: each admin list page, the change pages and the
cockpit, timed in process with Django's test client against a real database.

Builds 100,000 subscribers (with interests), 200,000 papers, 100,000 deliveries carrying
1,000,000 delivery items, 50,000 feedback rows, fetch runs and upvote history with bulk
inserts into a fresh database (a temporary SQLite file by default, or an EMPTY
PostgreSQL database given with --database-url), then requests each page --repeat times
after one warm-up and prints the median and worst time and the number of queries.

    .venv/bin/python bench/bench_admin.py                       # SQLite, full size
    .venv/bin/python bench/bench_admin.py --scale 0.1           # a tenth, for a quick look
    .venv/bin/python bench/bench_admin.py --postgres           # a throw-away local cluster
    .venv/bin/python bench/bench_admin.py --database-url postgres://u:p@127.0.0.1/db
    .venv/bin/python bench/bench_admin.py --write docs/benchmarks/admin.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure(database_url: str | None, var_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "digest.settings"
    os.environ["PAPERBOY_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DEBUG", "0")
    # Production refuses to start without a key; a throw-away one signs nothing here.
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(40))
    os.environ["LOG_FORMAT"] = "plain"
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django
    from django.conf import settings

    django.setup()
    # Pages render without a collectstatic run (the manifest storage needs one).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.ALLOWED_HOSTS = ["testserver"]


def backdate(model, column: str, rows: list[tuple[int, datetime]]) -> None:
    """Sets an auto_now_add column after a bulk insert (which always writes now), so
    the data spreads over past days as production data does."""
    from django.db import connection

    table = model._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    sql = f"UPDATE {table} SET {column} = %s WHERE id = %s"  # noqa: S608 - our own names
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 20_000):
            cursor.executemany(
                sql, [(adapt(when), pk) for pk, when in rows[start : start + 20_000]]
            )


def build(scale: float, log) -> dict:
    """Every table at production size, through bulk inserts; returns a few row ids."""
    from django.db import connection, transaction

    from digest.models import Delivery, FetchRun, Paper, Source, UpvoteSnapshot
    from subscriptions.models import Feedback, Interest, Subscriber

    rng = random.Random(14)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    n_subs, n_papers = int(100_000 * scale), int(200_000 * scale)
    n_deliveries, per_delivery = int(100_000 * scale), 10
    cats = ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "q-bio.NC", "astro-ph.CO"]
    statuses = ["active"] * 85 + ["pending"] * 5 + ["unsubscribed"] * 7 + ["bounced"] * 3
    started = time.perf_counter()
    with transaction.atomic():
        Source.objects.all().delete()
        sources = Source.objects.bulk_create(
            Source(name=f"arXiv {c}", kind="arxiv-rss", url=f"https://rss.arxiv.org/rss/{c}")
            for c in cats[:5]
        )
        runs = [
            FetchRun(source=s, kind=s.kind, url=s.url, status=rng.choice(["ok"] * 9 + ["failed"]))
            for s in sources
            for _ in range(8 * 60)
        ]
        runs = FetchRun.objects.bulk_create(runs, batch_size=2000)
        # Eight runs a day per source over the last 60 days.
        backdate(
            FetchRun,
            "started_at",
            [(r.pk, now - timedelta(hours=3 * (n // 5))) for n, r in enumerate(runs)],
        )
        subs = []
        for n in range(n_subs):
            created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
            status = rng.choice(statuses)
            subs.append(
                Subscriber(
                    email=f"reader{n}@example.org",
                    status=status,
                    send_hour=rng.randrange(24),
                    time_zone=rng.choice(["UTC", "Europe/Berlin", "America/New_York"]),
                    confirmed_at=created + timedelta(minutes=5) if status != "pending" else None,
                    unsubscribed_at=now - timedelta(days=rng.randrange(30))
                    if status == "unsubscribed"
                    else None,
                )
            )
        subs = Subscriber.objects.bulk_create(subs, batch_size=2000)
        backdate(
            Subscriber,
            "created_at",
            [(s.pk, s.confirmed_at or now - timedelta(days=rng.randrange(365))) for s in subs],
        )
        log(f"subscribers {len(subs):,} ({time.perf_counter() - started:.0f} s)")
        Interest.objects.bulk_create(
            (
                Interest(
                    subscriber=s,
                    categories=rng.sample(cats, 2),
                    keywords=["distillation", '"graph neural networks"', "-survey"],
                    authors=["Yoshua Bengio"],
                )
                for s in subs
            ),
            batch_size=2000,
        )
        papers = Paper.objects.bulk_create(
            (
                Paper(
                    arxiv_id=f"{2400 + n // 99_999}.{n % 99_999:05d}",
                    title=f"A study of topic {n} with a reasonably long title for a list page",
                    title_text=f"A study of topic {n} with a reasonably long title for a list page",
                    abstract_text="An abstract " * 60,
                    authors=[f"Author {n % 997}", f"Author {n % 499}", "Ada Lovelace"],
                    categories=rng.sample(cats, 2),
                    primary_category=cats[n % len(cats)],
                    announced_on=today - timedelta(days=n * 400 // max(n_papers, 1)),
                    upvotes=rng.randrange(200) if n % 20 == 0 else 0,
                )
                for n in range(n_papers)
            ),
            batch_size=2000,
        )
        log(f"papers {len(papers):,} ({time.perf_counter() - started:.0f} s)")
        snapshots = UpvoteSnapshot.objects.bulk_create(
            (
                UpvoteSnapshot(paper=papers[n], upvotes=rng.randrange(100))
                for n in range(0, len(papers), 10)
            ),
            batch_size=2000,
        )
        backdate(
            UpvoteSnapshot,
            "taken_at",
            [(s.pk, now - timedelta(hours=rng.randrange(720))) for s in snapshots],
        )
        active = [s for s in subs if s.status == "active"]
        deliveries = Delivery.objects.bulk_create(
            (
                Delivery(
                    subscriber=active[n % len(active)],
                    digest_date=today - timedelta(days=n // len(active)),
                    status=rng.choice(["sent"] * 90 + ["empty"] * 7 + ["failed"] * 3),
                    attempts=1,
                    subject="Your papers",
                )
                for n in range(n_deliveries)
            ),
            batch_size=2000,
        )
        log(f"deliveries {len(deliveries):,} ({time.perf_counter() - started:.0f} s)")
        sql = (
            "INSERT INTO digest_deliveryitem (delivery_id, paper_id, rank, score, reason) "
            "VALUES (%s, %s, %s, %s, %s)"
        )
        with connection.cursor() as cursor:
            batch = []
            for d in deliveries:
                first = rng.randrange(len(papers) - per_delivery)
                for rank in range(per_delivery):
                    batch.append((d.pk, papers[first + rank].pk, rank + 1, 0.5, "matches"))
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
        took = time.perf_counter() - started
        log(f"delivery items {n_deliveries * per_delivery:,} ({took:.0f} s)")
        feedback = Feedback.objects.bulk_create(
            (
                Feedback(subscriber=subs[n], paper=papers[n], signal=rng.choice([1, -1]))
                for n in range(min(int(50_000 * scale) or 1, len(subs)))
            ),
            batch_size=2000,
        )
        backdate(
            Feedback,
            "created_at",
            [(f.pk, now - timedelta(minutes=rng.randrange(60 * 24 * 60))) for f in feedback],
        )
    # Fresh statistics for the planner (and PostgreSQL's row estimate for the lists).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"built in {time.perf_counter() - started:.0f} s")
    return {
        "paper": papers[len(papers) // 2].pk,
        "subscriber": active[0].pk,
        "delivery": deliveries[0].pk,
    }


def measure(client, url: str, repeat: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: templates, caches
    times, queries, status = [], 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        queries, status = len(captured), response.status_code
    return statistics.median(times) * 1000, max(times) * 1000, queries, status


def pages(ids: dict) -> list[tuple[str, str]]:
    from django.urls import reverse

    def cl(name: str, query: str = "") -> str:
        return reverse(f"admin:{name}_changelist") + (f"?{query}" if query else "")

    return [
        ("papers list", cl("digest_paper")),
        ("papers list, page 100", cl("digest_paper", "p=100")),
        ("papers, search an arXiv id", cl("digest_paper", "q=2400.01234")),
        ("papers, search title words", cl("digest_paper", "q=topic+4242+reasonably")),
        ("papers, announced this week", cl("digest_paper", "announced_on__gte=" + _week())),
        ("sources list", cl("digest_source")),
        ("fetch runs list", cl("digest_fetchrun")),
        ("fetch runs, failed", cl("digest_fetchrun", "status__exact=failed")),
        ("deliveries list", cl("digest_delivery")),
        ("deliveries, failed", cl("digest_delivery", "status__exact=failed")),
        ("subscribers list", cl("subscriptions_subscriber")),
        (
            "subscribers, search an address",
            cl("subscriptions_subscriber", "q=reader4242@example.org"),
        ),
        ("subscribers, search part of one", cl("subscriptions_subscriber", "q=reader4242")),
        ("subscribers, bounced", cl("subscriptions_subscriber", "status__exact=bounced")),
        ("feedback list", cl("subscriptions_feedback")),
        ("paper change page", reverse("admin:digest_paper_change", args=[ids["paper"]])),
        (
            "subscriber change page",
            reverse("admin:subscriptions_subscriber_change", args=[ids["subscriber"]]),
        ),
        ("delivery change page", reverse("admin:digest_delivery_change", args=[ids["delivery"]])),
        ("admin index", reverse("admin:index")),
        ("cockpit (days rolled up)", reverse("cockpit:dashboard")),
    ]


def _week() -> str:
    return (datetime.now(UTC).date() - timedelta(days=7)).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of production size")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default SQLite)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throw-away PostgreSQL cluster (tests/integration's helper) and use it",
    )
    parser.add_argument("--write", type=Path, help="append the table to this Markdown file")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="bench-admin-"))
    server = None
    if args.postgres:
        from tests.integration.servers import PostgresServer, postgres_bindir

        bindir = postgres_bindir()
        if bindir is None:
            parser.error("--postgres needs PostgreSQL's initdb: install it or set PG_BINDIR")
        server = PostgresServer(bindir)
        server.start()
        args.database_url = server.create_database("bench_admin")
    try:
        run(args, var_dir)
    finally:
        if server is not None:
            server.stop()


def run(args: argparse.Namespace, var_dir: Path) -> None:
    configure(args.database_url, var_dir)
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    ids = build(args.scale, lambda m: print(m, file=sys.stderr, flush=True))
    user = User.objects.create_superuser("bench", "bench@example.org", "bench-password")
    client = Client()
    client.force_login(user)

    started = time.perf_counter()
    client.get(reverse("cockpit:dashboard"))
    first_view = (time.perf_counter() - started) * 1000

    rows = [(name, *measure(client, url, args.repeat)) for name, url in pages(ids)]
    load = os.getloadavg()[0]
    head = (
        f"{connection.vendor}, scale {args.scale:g}, {args.repeat} timed requests per page, "
        f"load {load:.1f}, {platform.python_implementation()} {platform.python_version()}"
    )
    lines = [
        head,
        "",
        "| page | median ms | worst ms | queries |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {med:.0f} | {worst:.0f} | {q} |" for n, med, worst, q, _ in rows),
        f"| cockpit, first view (rolls up 13 missed days) | {first_view:.0f} | | |",
    ]
    bad = [n for n, *_, status in rows if status != 200]
    if bad:
        lines.append(f"\nNot 200: {', '.join(bad)}")
    print("\n".join(lines))
    if args.write:
        with args.write.open("a") as out:
            out.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
