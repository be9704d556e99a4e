"""Workers survive a Redis restart that finds them polling with a task unacknowledged.

Celery's consumer, on a lost connection, first collects the connection and then closes it.
When Redis went away while the Redis channel was polling, the collect's close stops at the
failed poll, before the channel is marked closed, and then drops the transport. The second
close goes on to requeue the unacknowledged messages, rebuilds a client from the dropped
transport and raises AttributeError ("'NoneType' object has no attribute 'hostname'",
kombu 5.7). Celery recovers only from connection errors, so the worker exits
("Unrecoverable error") and sends nothing until a supervisor restarts it. A task publishing
at that moment (the tick queueing chunks) fails the same way on a channel whose transport
is gone ("... no attribute 'client'") instead of retrying.

Here a channel whose transport (or its client) is gone raises a connection error instead:
the close ignores it and the worker reconnects as after any other loss; a publish retries.
The unacknowledged messages come back through Redis's visibility timeout, and no digest
depends on them (each delivery's claim and lease live in the database:
digest/delivery/planning.py).
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


def survive_dropped_transport() -> None:
    """Patches kombu's Redis channel once per process (the worker's app module calls it)."""
    original = getattr(kombu_redis.Channel, "_connparams")  # noqa: B009 - private, untyped
    if getattr(original, "paperboy_patched", False):
        return

    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection was already closed")
        return original(self, asynchronous=asynchronous)

    _connparams.paperboy_patched = True  # type: ignore[attr-defined]
    setattr(kombu_redis.Channel, "_connparams", _connparams)  # noqa: B010 - as above
