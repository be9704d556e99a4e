"""Stores every subscriber's address with its domain in lowercase ASCII (IDNA), as sign-up
and look-ups now do, so `idn@exämple.test` and `idn@xn--exmple-cua.test` are one person.

Where both forms already exist as two subscribers, neither is changed (merging two
people's interests and history is for staff to decide): the migration prints them.
"""

from django.db import migrations
from django.db.models.functions import Lower

from subscriptions.addresses import normalise_email


def normalise_domains(apps, schema_editor):
    subscriber_model = apps.get_model("subscriptions", "Subscriber")
    rows = subscriber_model.objects.using(schema_editor.connection.alias)
    for pk, email in rows.values_list("pk", "email").iterator():
        canonical = normalise_email(email)
        if canonical == email:
            continue
        twin = rows.annotate(lower=Lower("email")).filter(lower=canonical.lower()).exclude(pk=pk)
        if twin.exists():
            print(f"\n  subscriber {pk}: {email!r} also exists as {canonical!r}; left as is")
            continue
        rows.filter(pk=pk).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0002_interest_description_vector")]

    operations = [migrations.RunPython(normalise_domains, migrations.RunPython.noop)]
