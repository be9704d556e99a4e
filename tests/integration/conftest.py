"""Session servers for the integration tests: Redis, PostgreSQL, an SMTP sink, a feed server.

Each test gets a fresh database (a copy of one migrated template), an empty Redis, an
empty sink and its own working folder; the workers and beats it starts are stopped after.
The tests skip with the reason when redis-server or PostgreSQL are missing, and fail
instead when CI=true.
"""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, datetime

import pytest

from . import feeds
from .day import prepare_day
from .deployment import Deployment
from .servers import (
    ROOT,
    FeedServer,
    PostgresServer,
    RedisServer,
    SmtpSink,
    postgres_bindir,
    redis_binary,
    require,
)

FIXTURE_FEEDS = ROOT / "tests" / "fixtures" / "feeds"
TEMPLATE_DB = "paperboy_template"
_databases = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server():
    binary = redis_binary()
    require("redis-server", binary is not None)
    server = RedisServer(binary)
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_server():
    bindir = postgres_bindir()
    require("PostgreSQL (initdb, pg_ctl)", bindir is not None and (bindir / "pg_ctl").exists())
    server = PostgresServer(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def feed_server():
    """Today's generated arXiv feeds plus the recorded fixture feeds, over HTTP."""
    server = FeedServer()
    now = datetime.now(UTC)
    for number, category in enumerate(feeds.TOPICS):
        body = feeds.arxiv_rss(category, 60, now, first_number=10000 + 100 * number)
        (server.dir / f"rss-{category}.xml").write_bytes(body)
    if FIXTURE_FEEDS.is_dir():
        for path in FIXTURE_FEEDS.iterdir():
            shutil.copy(path, server.dir / path.name)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def day_template(postgres_server, redis_server, smtp_sink, feed_server, tmp_path_factory):
    """The morning of the day, built once: migrated, today's feeds pulled through
    `manage.py ingest`, 2,000 readers. Every test starts from a copy of this database."""
    url = postgres_server.create_database(TEMPLATE_DB)
    workdir = tmp_path_factory.mktemp("template")
    site = Deployment(url, redis_server.url, smtp_sink.url, workdir)
    site.manage("migrate", "--noinput")
    prepare_day(site, feed_server)
    return TEMPLATE_DB


@pytest.fixture
def deployment(postgres_server, redis_server, smtp_sink, day_template, tmp_path):
    """A fresh production-shaped deployment at the start of the day: a copy of the
    morning's database, an empty Redis and an empty sink."""
    name = f"paperboy_day_{next(_databases)}"
    url = postgres_server.create_database(name, template=day_template)
    redis_server.client().flushall()
    smtp_sink.reset()
    # Worker and beat logs stay in tmp_path (pytest keeps the last runs) for a post-mortem.
    site = Deployment(url, redis_server.url, smtp_sink.url, tmp_path)
    yield site
    site.stop_all()
    smtp_sink.release()
