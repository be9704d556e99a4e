"""Sources are fetched from public addresses only, unless INGEST_ALLOWED_NETWORKS names
the network: whoever may edit a source's URL must not reach the deployment's insides
(loopback, the private networks, the cloud's metadata service) through the worker."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from digest.ingest.pipeline import ingest_source
from digest.models import FetchRun, Source
from digest.sources import reach
from digest.sources.base import IngestError
from digest.sources.http import fetch
from tests.helpers.feeds import ATOM_FEED, Reply

pytestmark = pytest.mark.usefixtures("fast_http")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def production_reach(settings):
    """Production's default: no private network allowed (the tests allow loopback)."""
    settings.INGEST_ALLOWED_NETWORKS = []
    return settings


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",  # the cloud's metadata service
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, never bound
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_addresses_inside_the_deployment_are_refused(production_reach, address):
    assert not reach.is_fetchable(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["151.101.1.1", "128.84.21.199", "2a00:1450:4001::1"])
def test_public_addresses_are_fetched(production_reach, address):
    assert reach.is_fetchable(ipaddress.ip_address(address))


def test_a_network_staff_allow_is_fetched(production_reach):
    production_reach.INGEST_ALLOWED_NETWORKS = ["10.1.0.0/16"]

    assert reach.is_fetchable(ipaddress.ip_address("10.1.2.3"))
    assert not reach.is_fetchable(ipaddress.ip_address("10.2.0.1"))


def test_a_loopback_url_is_refused_before_any_request(production_reach, feed_server):
    url = feed_server.serve("/internal", Reply(body=b"<feed/>"))

    with pytest.raises(IngestError) as refused:
        fetch(url)

    assert refused.value.permanent
    assert "not a public address" in str(refused.value)
    assert "INGEST_ALLOWED_NETWORKS" in str(refused.value)
    assert feed_server.requests == []


def test_a_redirect_into_a_refused_network_is_not_followed(settings, feed_server):
    settings.INGEST_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the feed server, and no more
    feed_server.serve("/feed", Reply(status=302, headers={"Location": "http://127.0.0.2:1/"}))

    with pytest.raises(IngestError, match=r"refused to fetch http://127\.0\.0\.2:1/"):
        fetch(feed_server.url("/feed"))


def test_a_name_that_resolves_elsewhere_on_connecting_is_refused_unread(
    production_reach, feed_server, monkeypatch
):
    # DNS rebinding: the name looked public when checked, the connection reached loopback.
    monkeypatch.setattr(reach, "host_addresses", lambda host: [ipaddress.ip_address("8.8.8.8")])
    url = feed_server.serve("/internal", Reply(body=b"<secret/>"))

    with pytest.raises(IngestError, match="127.0.0.1 is not a public address"):
        fetch(url)


def test_a_refused_source_records_a_failed_run_that_says_why(db, production_reach, feed_server):
    url = feed_server.serve_file("/rss", ATOM_FEED)
    source = Source.objects.create(name="Inside", kind="arxiv-rss", url=url)

    run = ingest_source(source)

    assert run.status == FetchRun.Status.FAILED
    assert "not a public address" in run.error
    assert feed_server.requests == []


def test_the_admin_refuses_a_source_url_inside_the_deployment(db, client, production_reach):
    staff = User.objects.create_user("editor", password="x", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__endswith="_source"))
    client.force_login(staff)

    page = client.post(
        reverse("admin:digest_source_add"),
        {
            "name": "Metadata",
            "kind": "arxiv-rss",
            "url": "http://169.254.169.254/latest/meta-data/",
            "enabled": "on",
            "fetch_every": "03:00:00",
        },
    )

    assert page.status_code == 200
    assert "169.254.169.254 is not a public address" in page.content.decode()
    assert not Source.objects.filter(name="Metadata").exists()


def test_the_admin_refuses_a_file_url_with_one_message(db, admin_client):
    page = admin_client.post(
        reverse("admin:digest_source_add"),
        {
            "name": "Local",
            "kind": "arxiv-rss",
            "url": "file:///etc/passwd",
            "fetch_every": "1:00:00",
        },
    )

    content = page.content.decode()
    assert "Enter a valid URL." in content
    assert "Give the feed" not in content
    assert not Source.objects.filter(name="Local").exists()


def test_a_bad_allowed_network_stops_the_settings_from_loading(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "digest.settings",
        "DEBUG": "1",
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "INGEST_ALLOWED_NETWORKS": "10.0.0.0/8,the-office",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: INGEST_ALLOWED_NETWORKS" in result.stderr
