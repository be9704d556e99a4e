"""The embedded default's mail: every message becomes one .eml file in the outbox folder."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

_lock = threading.Lock()
_counter = 0


def outbox_dir() -> Path:
    path = Path(settings.OUTBOX_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        global _counter
        folder = outbox_dir()
        sent = 0
        for message in email_messages:
            with _lock:
                _counter += 1
                name = f"{time.time_ns()}-{_counter:06d}.eml"
            # Write then rename, so a reader never sees half a message.
            tmp = folder / f".{name}.tmp"
            tmp.write_bytes(message.message().as_bytes(linesep="\r\n"))
            tmp.rename(folder / name)
            sent += 1
        return sent


@dataclass
class OutboxMessage:
    name: str
    headers: list[tuple[str, str]]
    subject: str
    to: str
    text: str
    html: str
    date: datetime | None = None

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


def read_message(path: Path) -> OutboxMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return OutboxMessage(
        name=path.name,
        headers=[(k, str(v)) for k, v in parsed.items()],
        # A folded header comes back with the fold's space in front: not part of it.
        subject=" ".join(str(parsed["Subject"] or "").split()),
        to=str(parsed["To"] or "").strip(),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
        date=_date(str(parsed["Date"] or "")),
    )


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value.strip() else None
    except (TypeError, ValueError):
        return None


def list_messages() -> list[OutboxMessage]:
    """Newest first."""
    paths = sorted(outbox_dir().glob("*.eml"), reverse=True)
    return [read_message(p) for p in paths]


def find_message(name: str) -> OutboxMessage | None:
    path = outbox_dir() / name
    # Only plain file names from our own listing: no path tricks.
    if "/" in name or "\\" in name or not name.endswith(".eml") or not path.is_file():
        return None
    return read_message(path)
