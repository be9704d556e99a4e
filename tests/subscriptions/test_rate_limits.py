"""Rate limits behind a proxy: the client's address from a trusted proxy only, counted
in a cache every process shares, and never a 500."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.test import RequestFactory
from django.urls import reverse

from digest.ops import clientip
from digest.ops.ratecache import SharedCounterCache
from subscriptions.models import Subscriber

SIGNUP = reverse("subscriptions:signup")
LINK = reverse("subscriptions:request_link")
NGINX = "127.0.0.1"
STRANGER = "203.0.113.50"


def request(remote_addr: str, **headers: Any):
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


def test_a_trusted_proxys_x_real_ip_is_the_client():
    assert clientip.client_ip(request(NGINX, HTTP_X_REAL_IP="198.51.100.7")) == "198.51.100.7"


def test_x_real_ip_from_anyone_else_is_ignored():
    assert clientip.client_ip(request(STRANGER, HTTP_X_REAL_IP="198.51.100.7")) == STRANGER


def test_a_request_without_the_header_counts_against_the_peer():
    assert clientip.client_ip(request(NGINX)) == NGINX


def test_a_malformed_header_counts_against_the_peer(caplog):
    assert clientip.client_ip(request(NGINX, HTTP_X_REAL_IP="1.2.3.4, 5.6.7.8")) == NGINX
    assert "malformed client address" in caplog.text


def test_a_unix_socket_peer_without_an_address_still_gets_one():
    assert clientip.client_ip(request("")) == clientip.UNKNOWN


def test_trusted_proxies_may_be_networks(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]
    assert clientip.client_ip(request("10.1.2.3", HTTP_X_REAL_IP="198.51.100.7")) == (
        "198.51.100.7"
    )
    assert clientip.client_ip(request("fd00::5", HTTP_X_REAL_IP="2001:db8::1")) == "2001:db8::1"
    assert clientip.client_ip(request(NGINX, HTTP_X_REAL_IP="198.51.100.7")) == NGINX


@pytest.mark.django_db
def test_a_request_through_the_proxy_without_the_header_is_answered_not_a_500(client):
    # Before: RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP made this ImproperlyConfigured (500).
    response = client.post(SIGNUP, {"email": "carol@example.org"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_client_forging_x_real_ip_cannot_escape_its_ip_limit(client):
    for i in range(20):
        response = client.post(
            SIGNUP, {"email": f"u{i}@example.org"}, REMOTE_ADDR=STRANGER,
            HTTP_X_REAL_IP=f"198.51.100.{i}",
        )  # fmt: skip
        assert response.status_code == 200
    blocked = client.post(
        SIGNUP, {"email": "x@example.org"}, REMOTE_ADDR=STRANGER, HTTP_X_REAL_IP="198.51.100.99"
    )
    assert blocked.status_code == 429
    assert Subscriber.objects.filter(email="x@example.org").count() == 0


@pytest.mark.django_db
def test_link_requests_count_per_client_behind_the_proxy(client):
    for _ in range(20):
        client.post(LINK, {"email": "a@example.org"}, HTTP_X_REAL_IP="198.51.100.1")
    assert (
        client.post(LINK, {"email": "b@example.org"}, HTTP_X_REAL_IP="198.51.100.1").status_code
        == 429
    )
    assert (
        client.post(LINK, {"email": "b@example.org"}, HTTP_X_REAL_IP="198.51.100.2").status_code
        == 200
    )


def test_without_a_cache_server_the_limits_count_in_the_database(settings):
    assert "CACHE_URL" not in os.environ
    assert isinstance(caches["ratelimit"], SharedCounterCache)
    assert settings.RATELIMIT_USE_CACHE == "ratelimit"


@pytest.mark.django_db
def test_the_database_counter_adds_up_and_keeps_its_expiry():
    cache = caches["ratelimit"]
    assert cache.add("counter", 1, 60)
    assert cache.incr("counter") == 2
    assert cache.incr("counter", 3) == 5
    # The expiry add() set holds: the stock incr() would have pushed it to 5 minutes on.
    with time_machine.travel(timedelta(seconds=120)):
        assert cache.get("counter") is None
        with pytest.raises(ValueError):
            cache.incr("counter")


@pytest.mark.django_db
def test_a_flood_of_new_keys_never_drops_a_live_counter():
    # Someone holding many IPv6 /64 blocks makes a key per block: culling live rows
    # would reset a victim's per-address count and let five more mails into their inbox.
    cache = SharedCounterCache("paperboy_cache", {"OPTIONS": {"MAX_ENTRIES": 5}})
    cache.add("a-victim", 5, 3600)
    cache.add("stale", 1, 1)
    with time_machine.travel(timedelta(seconds=10)):
        for n in range(20):
            cache.add(f"flood-{n:02d}", 1, 3600)

        assert cache.get("a-victim") == 5
        assert cache.get("stale") is None
        assert cache.get_many([f"flood-{n:02d}" for n in range(20)]).keys() == {
            f"flood-{n:02d}" for n in range(20)
        }
