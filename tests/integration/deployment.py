"""One production-shaped Paperboy for a test: its environment, commands, workers and beats.

Django runs only in subprocesses (manage.py commands, celery worker and beat), configured
the way deploy/example.env configures a server: PostgreSQL, Redis, SMTP, JSON logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .servers import ROOT, kill_group, wait_for

PYTHON = sys.executable
SEND_QUEUES = ("celery", "ingest", "send")


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log_path: Path

    def records(self) -> list[dict]:
        """The worker's JSON log lines (anything else it printed is skipped)."""
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    records.append(json.loads(line))
        return records

    def finished_chunks(self) -> list[dict]:
        return [
            r
            for r in self.records()
            if r.get("message") == "task finished"
            and r.get("task_name") == "digest.tasks.send_chunk"
        ]

    def sent(self) -> int:
        return sum((r.get("result") or {}).get("sent", 0) for r in self.finished_chunks())

    def failures(self) -> list[str]:
        """What went wrong in this worker's tasks, as Celery logged it."""
        return [
            str(r.get("message", ""))[:500]
            for r in self.records()
            if r.get("logger") == "celery.app.trace" and r.get("level") == "ERROR"
        ]

    def is_ready(self) -> bool:
        return any(str(r.get("message", "")).endswith(" ready.") for r in self.records())

    def kill(self) -> None:
        """SIGKILL to the worker and its pool children: the machine died, nothing cleans up."""
        kill_group(self.process, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            kill_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Deployment:
    database_url: str
    broker_url: str
    email_url: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[Worker] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "PYTEST_", "CELERY_"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "digest.settings",
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "DATABASE_URL": self.database_url,
                "CELERY_BROKER_URL": self.broker_url,
                "EMAIL_URL": self.email_url,
                "PAPERBOY_VAR_DIR": str(self.workdir / "var"),
                "SECRET_KEY": "integration-" + "k3y" * 20,
                "DEBUG": "0",
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "INFO",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SITE_URL": "https://paperboy.test",
                # A dead worker's rows come back after 20 s instead of 10 minutes. A live
                # sender renews its lease while it sends (test_long_runs.py runs with 2 s).
                "DELIVERY_LEASE_SECONDS": "20",
                "DELIVERY_CHUNK_SIZE": "25",
                "ARXIV_MIN_INTERVAL_SECONDS": "0",
                "INGEST_MAX_ATTEMPTS": "1",
                # The feed servers listen on loopback, which production refuses to fetch.
                "INGEST_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
            }
        )
        env.update(self.extra_env)
        return env

    # --- commands ---------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def shell(self, code: str, timeout: float = 120) -> str:
        return self.manage("shell", "--no-imports", "-c", code, timeout=timeout)

    def ingest(self, url: str, kind: str) -> str:
        return self.manage("ingest", "--url", url, "--kind", kind)

    def create_subscribers(self, count: int, categories: list[str]) -> None:
        """`count` active daily readers due at 00:00 UTC, each with one category."""
        self.shell(
            f"""
from datetime import timedelta
from django.utils import timezone
from subscriptions.models import Interest, Subscriber
# Confirmed yesterday: past the first digest's grace (FIRST_DIGEST_DELAY), due at once.
confirmed = timezone.now() - timedelta(days=1)
categories = {categories!r}
readers = Subscriber.objects.bulk_create(
    [
        Subscriber(email=f"reader{{i:05d}}@example.org", status="active", time_zone="UTC",
                   send_hour=0, confirmed_at=confirmed, empty_day="note")
        for i in range({count})
    ],
    batch_size=1000,
)
Interest.objects.bulk_create(
    [Interest(subscriber=s, categories=[categories[i % len(categories)]])
     for i, s in enumerate(readers)],
    batch_size=1000,
)
"""
        )

    def schedule_tick_every(self, seconds: int) -> None:
        """Beat's send tick every few seconds (production: every 5 minutes); no ingestion."""
        self.shell(
            f"""
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
every, _ = IntervalSchedule.objects.get_or_create(every={seconds}, period="seconds")
PeriodicTask.objects.filter(task="digest.tasks.tick").update(interval=every, crontab=None)
PeriodicTask.objects.exclude(task="digest.tasks.tick").update(enabled=False)
PeriodicTasks.update_changed()
"""
        )

    # --- processes ---------------------------------------------------------------------

    def _start(self, name: str, args: list[str]) -> Worker:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [PYTHON, "-m", "celery", "--quiet", "--app", "digest", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(name=name, process=process, log_path=log_path)
        self.processes.append(worker)
        return worker

    def start_worker(
        self,
        name: str,
        queues: tuple[str, ...] = SEND_QUEUES,
        concurrency: int = 2,
        pool: str = "prefork",
        wait: bool = True,
    ) -> Worker:
        worker = self._start(
            name,
            ["worker", "-n", f"{name}@%h", "-Q", ",".join(queues), "--pool", pool]
            + ["--concurrency", str(concurrency), "--without-gossip", "--without-mingle"],
        )
        if wait:
            wait_for(worker.is_ready, 90, f"worker {name} to be ready ({worker.log_path})")
        return worker

    def start_beat(self, name: str, wait: bool = True) -> Worker:
        beat = self._start(
            name,
            ["beat", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
            + ["--max-interval", "1"],
        )
        if wait:
            wait_for(
                lambda: any("Sending due task" in str(r.get("message")) for r in beat.records()),
                90,
                f"beat {name} to send its first tick ({beat.log_path})",
            )
        return beat

    def check_no_task_failed(self) -> None:
        """Fails at once, with the worker's own words, instead of timing out later."""
        for process in self.processes:
            failures = process.failures()
            if failures:
                raise AssertionError(f"a task failed in {process.name}: {failures[0]}")

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    # --- queries -----------------------------------------------------------------------

    def query(self, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def delivery_statuses(self) -> Counter:
        rows = self.query("SELECT status, count(*) FROM digest_delivery GROUP BY status")
        return Counter(dict(rows))


def send_task(broker_url: str, name: str, queue: str = "celery") -> None:
    """Queues a task by name, as beat does, without loading Django in the test process."""
    from celery import Celery

    # Not the current app: the tests' own tasks must go on queuing through Paperboy's.
    app = Celery("paperboy-test", broker=broker_url, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = True
    with app.connection_for_write() as connection:
        app.send_task(name, queue=queue, connection=connection)


def queue_is_drained(redis_client, queues=SEND_QUEUES) -> bool:
    """No message waiting in any queue and none delivered but unacknowledged."""
    waiting = sum(redis_client.llen(q) for q in queues)
    return waiting == 0 and redis_client.hlen("unacked") == 0


def settle(seconds: float = 2.0) -> None:
    time.sleep(seconds)
