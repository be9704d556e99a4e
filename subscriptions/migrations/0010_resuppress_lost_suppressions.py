"""Suppresses again the subscribers whose unsubscribe lifted their suppression.

Before d03fa9a, unsubscribing a suppressed (bounced) subscriber set status
`unsubscribed` and left the rest of the row alone, so a later sign-up, an undo or an old
confirmation link could bring the address back without staff. Those rows are the only
ones not `bounced` that still hold a suppression reason: every suppression (webhooks,
failures, staff) sets one, and staff's unsuppress clears it. An `unsubscribed` one is
put back to `bounced` with its reason and its unsubscribe time kept, which is how an
unsubscribe made while suppressed is stored now: it still gets no mail, and staff
lifting the suppression send it back to `unsubscribed`. One with no unsubscribe time
(staff set the status by hand in the admin) is given the migration's, so that lifting
the suppression keeps it unsubscribed too. Nothing else changes.

Rows that are `active` or `pending` with a reason are left alone: they came back on
their own (an undo, a new confirmation) or staff set their status by hand in the
admin, which the row does not tell apart; the admin's "Suppression reason, not
suppressed" filter lists them for staff to decide. The migration prints each row it
changes.
"""

from django.db import migrations
from django.db.models.functions import Coalesce
from django.utils import timezone


def resuppress_lost(apps, schema_editor):
    subscriber_model = apps.get_model("subscriptions", "Subscriber")
    rows = subscriber_model.objects.using(schema_editor.connection.alias)
    lost = rows.filter(status="unsubscribed").exclude(suppressed_reason="")
    for pk, reason in lost.values_list("pk", "suppressed_reason"):
        print(f"\n  subscriber {pk}: unsubscribed while suppressed ({reason}); suppressed again")
    lost.update(status="bounced", unsubscribed_at=Coalesce("unsubscribed_at", timezone.now()))


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0009_feedback_keeps_its_paper")]

    # Backwards it changes nothing: the rows stay suppressed, which staff can lift.
    operations = [migrations.RunPython(resuppress_lost, migrations.RunPython.noop)]
