"""The rate limits' cache when no shared cache server is configured: the database.

Each web process has its own memory, so counters kept there let a client through once
per process (two gunicorn workers: ten confirmation mails instead of five). Every
process shares the database, so without CACHE_URL the rate limits count in Django's
database cache (settings.CACHES["ratelimit"]), whose table `migrate` creates.
"""

from __future__ import annotations

import base64
import math
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.core.management import call_command
from django.db import connections, models, router, transaction
from django.utils import timezone

TABLE = "paperboy_cache"


class SharedCounterCache(DatabaseCache):
    """Django's database cache with an `incr` two processes cannot interleave.

    The stock `incr` reads, adds and writes back with the default timeout: two
    processes can both write the same count, and each increment would push the
    counter's expiry to five minutes from now. Here the row is locked for the
    read-modify-write (SELECT ... FOR UPDATE; SQLite's IMMEDIATE transactions already
    serialise writers) and keeps the expiry it had.

    It never culls a live row either: Django's cache, once over MAX_ENTRIES, deletes a
    share of live rows, and a flood of new keys (one per IPv6 /64 block someone holds)
    would then reset a victim's per-address counter. Only expired rows go; the table
    holds what the limits' windows hold.
    """

    def _cull(self, db: str, cursor: Any, now: Any, num: int) -> None:
        connection = connections[db]
        quote = connection.ops.quote_name
        cursor.execute(
            f"DELETE FROM {quote(self._table)} WHERE {quote('expires')} < %s",  # type: ignore[attr-defined]  # noqa: S608 - names quoted, values bound
            [connection.ops.adapt_datetimefield_value(now)],
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        cache_key = self.make_and_validate_key(key, version=version)
        table = self._table  # type: ignore[attr-defined]  # DatabaseCache's; not in the stubs
        sql = (
            f"SELECT {quote('value')}, {quote('expires')} FROM {quote(table)} "  # noqa: S608 - names quoted, values bound
            f"WHERE {quote('cache_key')} = %s"
        )
        if connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(sql, [cache_key])
            row = cursor.fetchone()
            expires = _expires(row[1], connection) if row else None
            if row is None or expires is None or expires < timezone.now():
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(connection.ops.process_clob(row[0]).encode()))  # noqa: S301 - our own rows
            new_value = value + delta
            remaining = math.ceil((expires - timezone.now()).total_seconds())
            self.set(key, new_value, timeout=max(1, remaining), version=version)
        return new_value


def _expires(value: Any, connection: Any) -> Any:
    expression = models.Expression(output_field=models.DateTimeField())
    converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    )
    for converter in converters:
        value = converter(value, expression, connection)
    return value


def create_cache_tables(using: str = "default", **kwargs: Any) -> None:
    """post_migrate: `migrate` also creates the database cache's table (idempotent)."""
    call_command("createcachetable", database=using, verbosity=0)
