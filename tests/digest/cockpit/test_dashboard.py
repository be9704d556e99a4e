"""The dashboard: staff only, every chart drawn with its table and CSV, warnings on top."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from digest.cockpit import stats
from digest.ingest.pipeline import load_snapshot
from digest.models import Source
from tests.digest.cockpit.conftest import NOON_TODAY, TODAY, YESTERDAY, at

pytestmark = pytest.mark.django_db

SLUGS = [
    "subscriber-events",
    "subscribers-by-status",
    "digests",
    "mail-rates",
    "papers",
    "feedback",
]


@pytest.fixture
def staff_client(client):
    user = User.objects.create_user("operator", password="x", is_staff=True)
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(reverse("cockpit:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_logged_in_non_staff_user_is_refused(client):
    client.force_login(User.objects.create_user("reader", password="x"))
    for url in (reverse("cockpit:dashboard"), reverse("cockpit:csv", args=["digests"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_staff_see_every_chart_with_its_numbers(staff_client, known_days):
    with at(NOON_TODAY):
        page = staff_client.get(reverse("cockpit:dashboard")).content.decode()
    for slug in SLUGS:
        assert f'id="{slug}"' in page
        assert reverse("cockpit:csv", args=[slug]) in page
    assert page.count("<svg") >= len(SLUGS)
    assert '<th scope="row">2026-11-24</th><td>4</td><td>1</td><td>1</td>' in page
    assert "arXiv cs.AI" in page and "Known paper" in page


def test_the_admin_index_leads_to_the_cockpit(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("cockpit:dashboard") in page
    assert "Paperboy" in page and "Django administration" not in page


def test_a_chart_downloads_as_csv(staff_client, known_days):
    with at(NOON_TODAY):
        response = staff_client.get(reverse("cockpit:csv", args=["papers"]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0] == "day,HF daily,arXiv cs.AI"
    assert "2026-11-24,7,35" in lines


@pytest.mark.parametrize("name", ['=HYPERLINK("https://evil.test","x")', "+1+1", "-2+3", "@SUM(1)"])
def test_a_source_name_reaches_the_csv_as_text_never_as_a_formula(staff_client, known_days, name):
    Source.objects.filter(name="HF daily").update(name=name)
    stats.day_store(YESTERDAY, today=TODAY)  # rolled up again, under the new name

    with at(NOON_TODAY):
        response = staff_client.get(reverse("cockpit:csv", args=["papers"]))

    [header, *_] = csv.reader(io.StringIO(response.content.decode()))
    assert sorted(header) == sorted(["day", "'" + name, "arXiv cs.AI"])


def test_an_unknown_chart_is_not_found(staff_client):
    assert staff_client.get(reverse("cockpit:csv", args=["nope"])).status_code == 404


def test_warnings_show_on_the_dashboard(staff_client, known_days, settings):
    settings.COCKPIT_FAILED_RUNS = 1
    known_days["hf"].runs.create(kind="hf-daily", url="x", status="failed", error="HTTP 500")
    with at(NOON_TODAY):
        page = staff_client.get(reverse("cockpit:dashboard")).content.decode()
    assert 'data-code="source-failing"' in page
    assert "HTTP 500" in page


def test_the_favicon_is_found(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("favicon.svg")


def test_a_fresh_install_with_only_the_snapshot_has_no_gap_to_warn_of(staff_client):
    with at(NOON_TODAY):
        load_snapshot()
        page = staff_client.get(reverse("cockpit:dashboard")).content.decode()
    assert 'data-code="weekday-without-papers"' not in page
    assert "No new papers" not in page
