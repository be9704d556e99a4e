"""One mailbox, one subscriber: internationalised and upper-case domains are one form."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from subscriptions import services, tokens
from subscriptions.addresses import display_email, normalise_email
from subscriptions.models import Subscriber

SIGNUP = reverse("subscriptions:signup")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("idn@exämple.test", "idn@xn--exmple-cua.test"),
        ("idn@xn--exmple-cua.test", "idn@xn--exmple-cua.test"),
        ("idn@EXÄMPLE.test", "idn@xn--exmple-cua.test"),
        (" Alice@Example.ORG ", "Alice@example.org"),
        ("not-an-address", "not-an-address"),
        ("odd@-bad-.test", "odd@-bad-.test"),  # not IDNA: lowercased, never an error
    ],
)
def test_the_domain_is_stored_in_lowercase_ascii(typed, stored):
    assert normalise_email(typed) == stored


@pytest.mark.django_db
def test_the_unicode_and_the_punycode_spelling_are_one_subscriber(client):
    client.post(SIGNUP, {"email": "idn@exämple.test"})
    client.post(SIGNUP, {"email": "idn@xn--exmple-cua.test"})
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["idn@xn--exmple-cua.test"]
    assert [m.to for m in mail.outbox] == [["idn@xn--exmple-cua.test"]] * 2


@pytest.mark.django_db
def test_a_link_request_finds_the_subscriber_by_either_spelling():
    services.subscriber_sign_up("idn@xn--exmple-cua.test")
    mail.outbox.clear()
    services.subscriber_request_link("IDN@exämple.test")
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_address_rate_limit_counts_both_spellings_together(client):
    for n in range(5):
        email = "idn@exämple.test" if n % 2 else "idn@xn--exmple-cua.test"
        assert client.post(SIGNUP, {"email": email}).status_code == 200
    assert client.post(SIGNUP, {"email": "idn@EXÄMPLE.test"}).status_code == 429


@pytest.fixture
def _latest_schema_afterwards():
    """Later tests in this process share the database: give them every table back (the
    migrations after 0003 would otherwise stay unapplied, the learners' table missing)."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_latest_schema_afterwards")
def test_the_migration_rewrites_stored_unicode_domains_and_leaves_twins_alone():
    executor = MigrationExecutor(connection)
    before = [("subscriptions", "0002_interest_description_vector")]
    after = [("subscriptions", "0003_normalise_email_domains")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("subscriptions", "Subscriber")
    for email in ("idn@exämple.test", "twin@exämple.test", "twin@xn--exmple-cua.test"):
        old.objects.create(email=email)
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "idn@xn--exmple-cua.test",
        "twin@exämple.test",  # its twin exists: staff decide
        "twin@xn--exmple-cua.test",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_latest_schema_afterwards")
def test_the_migration_replaces_time_zones_that_are_not_iana_names():
    executor = MigrationExecutor(connection)
    before = [("subscriptions", "0007_refit_requests")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("subscriptions", "Subscriber")
    for n, zone in enumerate(("localtime", "posixrules", "Europe/Berlin", "UTC")):
        old.objects.create(email=f"tz{n}@example.org", time_zone=zone)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    zones = dict(Subscriber.objects.values_list("email", "time_zone"))
    assert zones == {
        "tz0@example.org": "UTC",
        "tz1@example.org": "UTC",
        "tz2@example.org": "Europe/Berlin",
        "tz3@example.org": "UTC",
    }


@pytest.mark.django_db
def test_pages_show_an_internationalised_address_as_people_write_it(client):
    # "Not your address?" under idn@xn--exmple-cua.test would send its owner away.
    page = client.post(SIGNUP, {"email": "idn@exämple.test"}).content.decode()
    assert "<strong>idn@exämple.test</strong>" in page

    subscriber = Subscriber.objects.get()
    preferences = client.get(tokens.preferences_url(subscriber)).content.decode()
    assert "For <strong>idn@exämple.test</strong>" in preferences


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("idn@xn--exmple-cua.test", "idn@exämple.test"),
        ("Alice@example.org", "Alice@example.org"),
        ("odd@xn--zz.test", "odd@xn--zz.test"),  # not a valid A-label: as stored
    ],
)
def test_the_shown_address_decodes_the_domain_only(stored, shown):
    assert display_email(stored) == shown
