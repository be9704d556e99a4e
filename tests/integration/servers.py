"""Real servers on loopback for the integration tests, each in its own temporary folder.

Redis and PostgreSQL run from the system binaries (deploy/install-test-services.sh
installs them); the SMTP sink and the feed server run inside the test process. Nothing
here touches a server the machine already runs: every port is free and every folder new.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import glob
import http.server
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, every: float = 0.2):
    """Polls until `predicate()` is truthy and returns it, or fails saying what never came."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def require(what: str, found: bool) -> None:
    """Skips a test whose server is missing, except on CI (CI=true), where it fails."""
    if found:
        return
    reason = f"{what} is not installed (run: sudo bash deploy/install-test-services.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


# --- Redis --------------------------------------------------------------------------------


class RedisServer:
    """redis-server without persistence: a restart loses every queued message, on purpose."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="paperboy-redis-"))
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.dir)]
            + ["--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, 20, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=5)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_binary() -> str | None:
    return shutil.which("redis-server")


# --- PostgreSQL ----------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb, or PG_BINDIR."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        on_path = shutil.which("initdb")
        return Path(on_path).parent if on_path else None
    newest = max(found, key=lambda path: int(Path(path).parts[-3].split(".")[0]))
    return Path(newest).parent


class PostgresServer:
    """A throw-away cluster: initdb, pg_ctl start on a free port, trust auth on loopback.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres`
    system user (the Debian package creates it) and its commands run as that user.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="paperboy-pg-"))
        self.data = self.dir / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        extra: dict[str, Any] = (
            {"user": self.user, "group": self.user, "extra_groups": []} if self.user else {}
        )
        subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            check=True,
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **extra,
        )

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        # Speed over durability: this cluster lives for one test session.
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "postgres.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", **kwargs):
        import psycopg

        return psycopg.connect(self.url(database), **kwargs)

    def create_database(self, name: str, template: str | None = None) -> str:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


# --- SMTP sink -------------------------------------------------------------------------


@dataclass
class Received:
    recipient: str
    message_id: str
    subject: str
    connection: int


class SmtpSink:
    """An aiosmtpd server that records every accepted message and its connection.

    `hold_at(n)` makes the n-th DATA command wait, unanswered, until `release()`: the
    client has sent the message but the server has not accepted it. The test kills the
    sending worker in that moment, then the held message is refused (451), never recorded.
    The sender records outcomes in batches (at the latest when its chunk ends), so the
    test holds the first message of a chunk, and `before_hold` (run in a thread) checks
    that the database shows every message accepted so far recorded: then the kill can
    only lose the held, unaccepted message. Its failure is kept in `hold_error`.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.data_commands = 0
        self.connections = 0
        self._hold_at: int | None = None
        self._before_hold: Callable[[], object] | None = None
        self.hold_error: BaseException | None = None
        # Seconds each message waits before it is accepted: a slow server, so that a
        # chunk takes longer than a (shortened) lease.
        self.delay = 0.0
        self.held = threading.Event()
        self._release = threading.Event()
        self.controller: Any = None  # an aiosmtpd Controller once started

    # aiosmtpd handler hooks
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.connections += 1
            session.paperboy_connection = self.connections
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.data_commands += 1
            number = self.data_commands
            held = number == self._hold_at
        if held:
            if self._before_hold is not None:
                try:
                    await asyncio.to_thread(self._before_hold)
                except BaseException as exc:  # noqa: BLE001 - reported to the test
                    self.hold_error = exc
            self.held.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Held by the test; not accepted"
        message = message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.received.append(
                    Received(
                        recipient=recipient.lower(),
                        message_id=str(message.get("Message-ID", "")),
                        subject=str(message.get("Subject", "")),
                        connection=getattr(session, "paperboy_connection", 0),
                    )
                )
        return "250 2.0.0 Accepted"

    def hold_at(self, n: int, before_hold: Callable[[], object] | None = None) -> None:
        self._hold_at = n
        self._before_hold = before_hold
        self.hold_error = None
        self.held.clear()
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.data_commands = 0
            self.connections = 0
            self._hold_at = None
            self._before_hold = None
            self.delay = 0.0
        self._release.set()

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        # aiosmtpd logs every SMTP command at INFO: thousands of lines per day.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, data_size_limit=10 * 1024 * 1024
        )
        self.controller.start()

    def stop(self) -> None:
        self._release.set()
        if self.controller:
            self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


# --- Feeds over HTTP -------------------------------------------------------------------------


class FeedServer:
    """Serves a folder over HTTP on loopback, as arXiv and Hugging Face would."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="paperboy-feeds-"))
        handler = functools.partial(_QuietHandler, directory=str(self.dir))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/rss+xml",
        ".atom": "application/atom+xml",
        ".json": "application/json",
    }

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signals a process started with start_new_session=True and all its children."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
