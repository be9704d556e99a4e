"""Subscribers whose unsubscribe lifted their suppression (before d03fa9a) are suppressed
again by migration 0010, losing nothing; those mailed again since are listed for staff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from subscriptions import services, suppressions
from subscriptions.models import Subscriber
from tests.factories import make_subscriber

BEFORE = [("subscriptions", "0009_feedback_keeps_its_paper")]
CONFIRMED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
LEFT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def _latest_schema_afterwards():
    """Later tests in this process share the database: give them every table back."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def rows_as_the_old_code_left_them() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("subscriptions", "Subscriber")
    # A complaint suppressed her, then her old mail's unsubscribe link made her plain
    # "unsubscribed": the old code left the reason, and the time she left.
    old.objects.create(
        email="lost@example.org",
        status="unsubscribed",
        suppressed_reason="postmark: marked as spam",
        confirmed_at=CONFIRMED,
        unsubscribed_at=LEFT,
    )
    # Staff set a suppressed row to "unsubscribed" by hand (no unsubscribe time).
    old.objects.create(
        email="by-hand@example.org",
        status="unsubscribed",
        suppressed_reason="ses: bounced",
        confirmed_at=CONFIRMED,
    )
    old.objects.create(email="left@example.org", status="unsubscribed", unsubscribed_at=LEFT)
    # Came back after such an unsubscribe (an undo, a new confirmation): mailed again.
    old.objects.create(email="back@example.org", status="active", suppressed_reason="ses: bounced")
    # An unsubscribe made while suppressed, as it is stored now.
    old.objects.create(
        email="kept@example.org",
        status="bounced",
        suppressed_reason="ses: bounced",
        unsubscribed_at=LEFT,
    )
    old.objects.create(email="reader@example.org", status="active", confirmed_at=CONFIRMED)


def after_the_migration() -> dict[str, Subscriber]:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    return {s.email: s for s in Subscriber.objects.all()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_latest_schema_afterwards")
def test_an_unsubscribe_that_lifted_a_suppression_is_stored_as_one_made_while_suppressed():
    rows_as_the_old_code_left_them()

    rows = after_the_migration()

    lost = rows["lost@example.org"]
    assert (lost.status, lost.suppressed_reason) == ("bounced", "postmark: marked as spam")
    assert (lost.confirmed_at, lost.unsubscribed_at) == (CONFIRMED, LEFT)
    assert lost.has_unsubscribed
    by_hand = rows["by-hand@example.org"]
    assert by_hand.status == "bounced" and by_hand.unsubscribed_at is not None
    assert {email: s.status for email, s in rows.items() if s not in (lost, by_hand)} == {
        "left@example.org": "unsubscribed",
        "back@example.org": "active",
        "kept@example.org": "bounced",
        "reader@example.org": "active",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_latest_schema_afterwards")
def test_after_the_repair_a_sign_up_mails_nothing_and_lifting_keeps_them_unsubscribed():
    rows_as_the_old_code_left_them()
    after_the_migration()

    services.subscriber_sign_up("lost@example.org")
    back = suppressions.subscribers_unsuppress(
        Subscriber.objects.filter(email__in=["lost@example.org", "by-hand@example.org"])
    )

    assert mail.outbox == []  # before the repair: a confirmation mail, to a complainer
    assert back == {"unsubscribed": 2}


@pytest.mark.django_db
def test_staff_find_the_subscribers_mailed_again_despite_a_suppression_reason(admin_client):
    make_subscriber("back@example.org", suppressed_reason="ses: bounced")
    make_subscriber("reader@example.org")
    suppressed = make_subscriber("kept@example.org")
    suppressions.subscriber_suppress(suppressed.email, "ses: bounced")

    page = admin_client.get(
        reverse("admin:subscriptions_subscriber_changelist"), {"reason": "not-suppressed"}
    ).content.decode()

    assert "back@example.org" in page
    assert "reader@example.org" not in page
    assert "kept@example.org" not in page
