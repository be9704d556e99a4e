"""A real SMTP server on loopback (aiosmtpd) for the delivery tests (fixture `smtp_server`).

The server records every message it accepts; `script` makes it answer chosen recipients
with chosen replies (a 451, a 550, a 421 that hangs up) before it accepts them.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body else ""


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    # recipient -> replies to give to DATA, in order, before accepting ("250").
    script: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Replies given to every message, whoever it is for (e.g. a server that is full).
    always: str | None = None
    # Seconds each message takes to be accepted: a slow server makes a run outlast a lease.
    delay: float = 0.0
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.always:
                return self.always
            for rcpt in envelope.rcpt_tos:
                if self.script.get(rcpt):
                    return self.script[rcpt].pop(0)
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 2.0.0 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    @property
    def recipients(self) -> list[str]:
        return [rcpt for r in self.received for rcpt in r.rcpt_tos]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.handler = RecordingHandler(port=self.port)
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10
        )

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
