"""A NUL character in a posted value gets the bad-request page, never a server error, on
the production database.

PostgreSQL refuses NUL in text and in JSON (SQLite stores it), so a value that reached a
query there raised in the driver: an answer or undo for the arXiv id "\\x00", a reading's
"keep" or "drop" of such a term. Django's form fields refuse NUL with their own message;
the views that read a posted value without a form relied on the database instead.
"""

from __future__ import annotations

import pytest

from .test_production_settings import shell_on_fresh_postgres

pytestmark = pytest.mark.integration

SCRIPT = """
import json
from django.test import Client, override_settings
from subscriptions import tokens
from subscriptions.models import Subscriber

# The pages render without a collectstatic run; the manifest storage needs one.
override_settings(
    STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
).enable()
subscriber = Subscriber.objects.create(email="nul@example.org", status="active")
token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
client = Client(raise_request_exception=False, HTTP_HOST="paperboy.example.org")
posts = {
    "answer": (f"/preferences/{token}/papers/answer/", {"arxiv_id": "2401.0\\x001", "signal": "1"}),
    "undo": (f"/preferences/{token}/feedback/undo/", {"arxiv_id": "\\x00"}),
    "keep": (f"/preferences/{token}/reading/", {"keep": "graph\\x00"}),
    "drop": (f"/preferences/{token}/reading/", {"drop": "graph\\x00"}),
}
statuses = {
    name: client.post(url, data, secure=True).status_code for name, (url, data) in posts.items()
}
print(json.dumps(statuses))
"""


def test_a_nul_character_in_any_posted_value_is_a_bad_request_not_a_server_error(
    tmp_path, postgres_server
):
    result, statuses = shell_on_fresh_postgres(tmp_path, postgres_server, "nul_values", SCRIPT)

    assert statuses == {name: 400 for name in statuses}, result.stderr[-3000:]
