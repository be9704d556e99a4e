"""A subscriber's change page holds the row from its comparison with the row to the write.

The form writes only what staff changed and refuses a field changed meanwhile
(subscriptions/admin_forms.py); on PostgreSQL another transaction could still change the
row between that comparison and the save, unless the save holds it. The test tries to
take the row from another connection, without waiting, while the admin saves.
"""

from __future__ import annotations

import pytest

from .test_production_settings import shell_on_fresh_postgres

pytestmark = pytest.mark.integration

SCRIPT = """
import json, threading
from django.contrib.auth.models import User
from django.db import OperationalError, connection, transaction
from django.test import Client, override_settings
from subscriptions.admin import SubscriberAdmin
from subscriptions.models import Subscriber
from tests.helpers.adminforms import submitted

seen = {}

def takes_the_row_elsewhere(pk):
    try:  # a thread: its own connection
        with transaction.atomic():
            Subscriber.objects.select_for_update(nowait=True).get(pk=pk)
            seen["taken"] = True
    except OperationalError as error:
        seen["refused"] = type(error).__name__
    finally:
        connection.close()

validated_save = SubscriberAdmin.save_form
def tries_between_validation_and_save(self, request, form, change):
    thread = threading.Thread(target=takes_the_row_elsewhere, args=[form.instance.pk])
    thread.start()
    thread.join()
    return validated_save(self, request, form, change)

SubscriberAdmin.save_form = tries_between_validation_and_save
override_settings(
    STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
).enable()
alice = Subscriber.objects.create(email="alice@example.org", status="active")
staff = User.objects.create_superuser("staff", "staff@example.org", "unused")
client = Client(raise_request_exception=False, HTTP_HOST="paperboy.example.org")
client.force_login(staff)
url = f"/admin/subscriptions/subscriber/{alice.pk}/change/"
data = submitted(client.get(url, secure=True).content.decode())
data.update(paper_limit=["3"])
response = client.post(url, data, secure=True)
alice.refresh_from_db()
print(json.dumps({"status": response.status_code, "seen": seen, "limit": alice.paper_limit}))
"""


def test_the_row_is_held_from_the_forms_check_to_the_save(tmp_path, postgres_server):
    result, answer = shell_on_fresh_postgres(tmp_path, postgres_server, "admin_change_lock", SCRIPT)

    assert answer["status"] == 302, result.stderr[-3000:]
    assert answer["seen"] == {"refused": "OperationalError"}
    assert answer["limit"] == 3
