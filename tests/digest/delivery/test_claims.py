"""Claims under faults: a sender that outlived its lease, a crash after another sender
delivered, two senders storing picks for one row, a lease renewed while a chunk is sent."""

from datetime import timedelta

import pytest
from django.conf import settings

from digest.delivery import items, outcomes, planning
from digest.delivery.lease import LeaseKeeper, claims_renew
from digest.models import Delivery, DeliveryItem
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_monday")]


@pytest.fixture
def row():
    make_paper("Knowledge distillation for small language models", categories=("cs.CL",))
    make_paper("Distillation of diffusion samplers", categories=("cs.LG",))
    make_subscriber("reader@example.org", keywords=["distillation"])
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    return Delivery.objects.get()


def lease_later(seconds: int = 1):
    return MONDAY_9_UTC + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + seconds)


def test_a_claim_is_stamped_when_it_is_made_not_when_the_run_began(row):
    planning.claim([row.pk])

    row.refresh_from_db()
    assert row.claimed_at > MONDAY_9_UTC  # the clock moves on under time_machine
    later_in_the_run = row.claimed_at + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS - 1)
    assert planning.claim([row.pk], later_in_the_run)[1] == []


def test_a_second_owner_storing_its_picks_neither_crashes_nor_mixes_them(row):
    """Two senders both found no stored picks and ranked: the second INSERT used to fail
    on UNIQUE(delivery_id, rank); now it stores nothing and both use the first's."""
    token, won = planning.claim([row.pk], MONDAY_9_UTC)
    first = items.pick_papers(won, token=token)[row.pk]
    other = [items.Chosen(row.pk, first[0].paper_id, 1, 9.0, "another sender's pick")]

    assert items.insert_items(other) == 0
    assert items.insert_items(other, token=token) == 0
    assert list(DeliveryItem.objects.values_list("reason", flat=True)) == [c.reason for c in first]


def test_picks_are_stored_only_for_rows_the_claim_still_owns(row):
    old_token, won = planning.claim([row.pk], MONDAY_9_UTC)
    new_token, _ = planning.claim([row.pk], lease_later())

    assert items.pick_papers(won, token=old_token)[row.pk] == []
    assert DeliveryItem.objects.count() == 0
    assert items.pick_papers(won, token=new_token)[row.pk]


def test_a_crash_after_another_sender_delivered_never_puts_the_row_back(row):
    """The report's third send: A sends, B took the row over meanwhile and crashes; B's
    release used to make it pending again. A's record of the delivery now stands."""
    token_a, [mine] = planning.claim([row.pk], MONDAY_9_UTC)
    token_b, [theirs] = planning.claim([row.pk], lease_later())

    sender_a = outcomes.Outcomes(token_a, outcomes.SendReport())
    sender_a.mark_sent(mine, "Your digest")
    sender_a.flush()
    sender_b = outcomes.Outcomes(token_b, outcomes.SendReport())
    sender_b.release([theirs], error="RuntimeError: a crash")
    sender_b.flush()

    row.refresh_from_db()
    assert (row.status, row.subject) == (Delivery.Status.SENT, "Your digest")
    assert planning.claimable_delivery_ids(lease_later(3600), retry_pause=timedelta(0)) == []


def test_a_renewed_lease_is_not_taken_over(row):
    token, _ = planning.claim([row.pk], MONDAY_9_UTC)
    almost = lease_later(-1)

    assert claims_renew(token, [row.pk], now=almost) == set()
    assert planning.claim([row.pk], lease_later())[1] == []
    assert planning.claim(
        [row.pk], almost + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    )[1]


def test_the_keeper_reports_rows_another_claim_took_and_stops_the_sending(row):
    token, _ = planning.claim([row.pk], MONDAY_9_UTC)
    planning.claim([row.pk], lease_later())  # this sender was frozen past its lease
    stopped = []
    keeper = LeaseKeeper(token, [row.pk])
    keeper.on_lost = lambda: stopped.append(True)

    keeper.renew()

    assert (keeper.lost, stopped) == ({row.pk}, [True])
    assert Delivery.objects.get().claim_token != token
