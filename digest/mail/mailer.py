"""Sends rendered emails over one open connection, results in submission order."""

from __future__ import annotations

import logging
import queue
import signal
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
    "skipped", or not at all if handed over after a stopped thread ended. `close()`
    waits for everything in flight and returns the last results: a caller must record
    those too, or it would send them again.
    """

    DEPTH = 16

    def __init__(self, connection, classify) -> None:
        self.connection = connection
        self.classify = classify
        self._done: queue.SimpleQueue[Sent] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        # Set by the thread as it ends. Waited on instead of join(): on Python 3.11 a
        # join() interrupted by Ctrl-C can mark a thread still sending as ended
        # (threading's bpo-45274 handling), and closing the connection under it would
        # read the server's "221 Bye" as that message's answer.
        self._ended = threading.Event()
        self.interrupted: BaseException | None = None
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
        """Waits for every message in flight and returns the last results. An interruption
        while it waits (Ctrl-C, a SIGTERM turned into an exception) stops what is not yet
        started but still waits for the message on the wire, whose result the caller must
        record; the interruption is kept in `interrupted` for the caller to raise then."""
        if self._thread is not None:
            try:
                self._todo.put(None)
            except BaseException as exc:  # noqa: BLE001 - kept, raised by the caller
                self._interrupt(exc)  # the thread ends by itself once the queue is empty
            while not self._ended.is_set():
                try:
                    self._ended.wait()
                except BaseException as exc:  # noqa: BLE001 - kept, raised by the caller
                    self._interrupt(exc)
            self._thread.join()
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            logging.getLogger(__name__).debug("closing the mail connection failed", exc_info=True)
        except BaseException as exc:  # noqa: BLE001 - an interruption of QUIT: kept too
            self._interrupt(exc)
        return self.ready()

    def _interrupt(self, exc: BaseException) -> None:
        self.interrupted = self.interrupted or exc
        self._stopped.set()

    def _run(self) -> None:
        # Ctrl-C and SIGTERM go to the main thread, never to this one: delivered here, they
        # would leave the main thread blocked in close() until every queued message had
        # gone, and raise there later, wherever it then was (mid-record, say).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            self._deliver()
        finally:
            self._ended.set()

    def _deliver(self) -> None:
        while True:
            try:
                item = self._todo.get(timeout=0.1)
            except queue.Empty:
                if self._stopped.is_set():
                    return  # stopped and drained: a close() cut short sends no end mark
                continue
            if item is None:
                return
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
