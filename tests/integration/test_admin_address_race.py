"""Staff saving an address that someone else takes at the same moment get the admin's own
message about the duplicate, with the form as they typed it, instead of a server error.

On PostgreSQL the form's check for a subscriber with the address cannot lock a row that
does not exist yet, so another transaction may commit that address between the check and
the save. (SQLite's IMMEDIATE transactions hold the write lock from the check to the save,
so there the window does not open.) The test opens it on purpose: a sign-up on another
connection commits the address after the admin validated its form and before it saves.
"""

from __future__ import annotations

import html
import re

import pytest

from .test_production_settings import shell_on_fresh_postgres

pytestmark = pytest.mark.integration

SCRIPT = """
import json, threading
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from subscriptions.admin import SubscriberAdmin
from subscriptions.models import Subscriber
from subscriptions.services import subscriber_sign_up
from tests.helpers.adminforms import submitted

def signs_up_elsewhere():
    subscriber_sign_up("carol@example.org")  # a thread: its own connection, autocommit
    connection.close()

validated_save = SubscriberAdmin.save_form
def sign_up_between_validation_and_save(self, request, form, change):
    thread = threading.Thread(target=signs_up_elsewhere)
    thread.start()
    thread.join()
    return validated_save(self, request, form, change)

SubscriberAdmin.save_form = sign_up_between_validation_and_save
# The admin's pages render without a collectstatic run; the manifest storage needs one.
override_settings(
    STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
).enable()
staff = User.objects.create_superuser("staff", "staff@example.org", "unused")
client = Client(raise_request_exception=False, HTTP_HOST="paperboy.example.org")
client.force_login(staff)
url = "/admin/subscriptions/subscriber/add/"
data = submitted(client.get(url, secure=True).content.decode())
data.update(email=["Carol@Example.org"], paper_limit=["3"])
response = client.post(url, data, secure=True)
print(json.dumps({
    "status": response.status_code,
    "page": response.content.decode(),
    "stored": list(Subscriber.objects.values_list("email", flat=True)),
}))
"""


def test_an_address_taken_between_validation_and_save_is_refused_on_the_form(
    tmp_path, postgres_server
):
    result, answer = shell_on_fresh_postgres(
        tmp_path, postgres_server, "admin_address_race", SCRIPT
    )

    assert answer["status"] == 200, result.stderr[-3000:]
    page = answer["page"]
    assert errors(page) == [
        "This mailbox already has a subscriber: carol@example.org. Change that one instead."
    ]
    assert 'name="email" value="Carol@Example.org"' in page  # as staff typed it
    assert 'name="paper_limit" value="3"' in page
    assert answer["stored"] == ["carol@example.org"]  # the sign-up's, once


def errors(page: str) -> list[str]:
    found = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", e)).strip() for e in found]
