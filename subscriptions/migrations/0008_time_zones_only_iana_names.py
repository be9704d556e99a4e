"""Stores UTC for the time zones that are not IANA names, as sign-up now does with them.

`localtime` and `posixrules` were accepted before (zoneinfo lists the files beside the
zones): a browser never sends them, and `localtime` meant the server's own zone, whatever
that is on the machine running the worker. The migration prints each row it changes.
"""

import zoneinfo

from django.db import migrations


def only_iana_names(apps, schema_editor):
    subscriber_model = apps.get_model("subscriptions", "Subscriber")
    rows = subscriber_model.objects.using(schema_editor.connection.alias)
    # As subscriptions.models.known_time_zones reads them, frozen here as of this migration.
    names = {zone for zone in zoneinfo.available_timezones() if zone[:1].isupper()}
    for pk, zone in rows.exclude(time_zone__in=names).values_list("pk", "time_zone"):
        print(f"\n  subscriber {pk}: time zone {zone!r} is not an IANA name; now 'UTC'")
        rows.filter(pk=pk).update(time_zone="UTC")


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0007_refit_requests")]

    operations = [migrations.RunPython(only_iana_names, migrations.RunPython.noop)]
