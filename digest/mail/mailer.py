"""Sends rendered emails over one open connection, results in submission order."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from .messages import RenderedEmail


@dataclass
class Sent:
    """What became of one submitted email: `kind` is "sent", "skipped" (never tried:
    the mailer had stopped) or what `classify` made of the error."""

    key: Any
    email: RenderedEmail
    kind: str
    text: str = ""
    error: BaseException | None = None


class Mailer:
    """Sends rendered emails over one open connection, results in submission order.

    Over SMTP a sender thread does the talking, so the caller renders the next digest
    while the server digests the last one (the socket waits release the GIL). Other
    backends (anymail, the outbox, locmem) send in the caller's thread. `classify` maps
    an exception to (kind, text); the thread stops by itself after a "connection" or
    "unknown" kind, and `stop()` stops it early. Messages not yet tried come back as
    "skipped". `close()` waits for everything in flight and returns the last results:
    a caller must record those too, or it would send them again.
    """

    DEPTH = 16

    def __init__(self, connection, classify) -> None:
        self.connection = connection
        self.classify = classify
        self._done: queue.SimpleQueue[Sent] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        smtp = getattr(connection, "connection", None)
        if isinstance(connection, SMTPBackend) and smtp is not None:
            self._todo: queue.Queue = queue.Queue(maxsize=self.DEPTH)
            self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
            self._thread.start()

    def submit(self, key, email: RenderedEmail) -> None:
        if self._thread is None:
            self._done.put(self._send(key, email))
        else:
            self._todo.put((key, email))

    def ready(self) -> list[Sent]:
        results = []
        while True:
            try:
                results.append(self._done.get_nowait())
            except queue.Empty:
                return results

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> list[Sent]:
        if self._thread is not None:
            self._todo.put(None)
            self._thread.join()
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            logging.getLogger(__name__).debug("closing the mail connection failed", exc_info=True)
        return self.ready()

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            self._done.put(self._send(*item))

    def _send(self, key, email: RenderedEmail) -> Sent:
        if self._stopped.is_set():
            return Sent(key, email, "skipped")
        try:
            smtp = getattr(self.connection, "connection", None)
            if isinstance(self.connection, SMTPBackend) and smtp and email.fast_path:
                # Our parts are 8bit UTF-8: say so where the server lets us (RFC 6152).
                options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
                smtp.sendmail(email.envelope_from, [email.to], email.as_bytes(), options)
            else:
                self.connection.send_messages([email.django_message()])
        except Exception as exc:  # noqa: BLE001 - handed to the caller, classified
            kind, text = self.classify(exc)
            if kind in ("connection", "unknown"):
                self._stopped.set()
            return Sent(key, email, kind, text, exc)
        return Sent(key, email, "sent")
