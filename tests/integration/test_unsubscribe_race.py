"""On PostgreSQL, two unsubscribe presses at the same moment: only one is told it
unsubscribed (and so offered the undo), and a suppression survives an unsubscribe and is
lifted by staff back to what each subscriber last agreed to.

The first press's update holds the subscriber's row; the second press, on another
connection, waits for that lock (the test waits until PostgreSQL shows it waiting, not
for a time), and once the first commits it finds the row changed and changes nothing.
"""

from __future__ import annotations

import pytest

from .test_production_settings import shell_on_fresh_postgres

pytestmark = pytest.mark.integration

SCRIPT = """
import json, threading
from django.db import connection, transaction
from django.utils import timezone
from subscriptions.models import Subscriber
from subscriptions.services import subscriber_unsubscribe
from subscriptions.suppressions import subscriber_suppress, subscribers_unsuppress

alice = Subscriber.objects.create(
    email="alice@example.org", status="active", confirmed_at=timezone.now()
)
first_press, second_press = (Subscriber.objects.get(pk=alice.pk) for _ in range(2))
told = {}

def second():
    try:
        told["second"] = subscriber_unsubscribe(second_press)  # autocommit, own connection
    finally:
        connection.close()

with transaction.atomic():
    told["first"] = subscriber_unsubscribe(first_press)  # holds alice's row till commit
    waiting = threading.Thread(target=second)
    waiting.start()
    with connection.cursor() as cursor:
        blocked = 0
        while not blocked and waiting.is_alive():
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            blocked = cursor.fetchone()[0]
waiting.join()
left_at = Subscriber.objects.get(pk=alice.pk).unsubscribed_at

dora = Subscriber.objects.create(
    email="dora@example.org", status="active", confirmed_at=timezone.now()
)
bob = Subscriber.objects.create(email="bob@example.org", status="pending")
carol = Subscriber.objects.create(
    email="carol@example.org", status="active", confirmed_at=timezone.now()
)
for who in (dora, bob, carol):
    subscriber_suppress(who.email, "ses: bounced")
told["dora"] = subscriber_unsubscribe(dora)
after_unsubscribe = Subscriber.objects.get(pk=dora.pk).status
back = subscribers_unsuppress(Subscriber.objects.filter(pk__in=[dora.pk, bob.pk, carol.pk]))

print(json.dumps({
    "told": told,
    "waited": bool(blocked),
    "first_kept": left_at == first_press.unsubscribed_at,
    "dora_after_unsubscribe": after_unsubscribe,
    "back": back,
    "statuses": dict(Subscriber.objects.values_list("email", "status")),
}))
"""


def test_only_one_of_two_simultaneous_presses_unsubscribes_and_suppression_holds(
    tmp_path, postgres_server
):
    _, answer = shell_on_fresh_postgres(tmp_path, postgres_server, "unsubscribe_race", SCRIPT)

    assert answer["waited"], "the second press never waited for the first one's row lock"
    assert answer["told"] == {"first": True, "second": False, "dora": True}
    assert answer["first_kept"]
    assert answer["dora_after_unsubscribe"] == "bounced"
    assert answer["back"] == {"unsubscribed": 1, "pending": 1, "active": 1}
    assert answer["statuses"] == {
        "alice@example.org": "unsubscribed",
        "dora@example.org": "unsubscribed",
        "bob@example.org": "pending",
        "carol@example.org": "active",
    }
