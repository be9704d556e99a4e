"""Admin sign-in under brute force: locked per account and per address, and logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)


def sign_in(client: Client, password: str, username: str = "root", **meta: Any):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_two_hundred_wrong_passwords_lock_the_account_and_the_right_one_is_refused(
    client, staff, caplog
):
    caplog.set_level(logging.WARNING, logger="axes")
    answers = [sign_in(client, f"guess-{n}").status_code for n in range(200)]
    assert answers[:4] == [200] * 4  # the form again, with an error
    assert set(answers[5:]) == {429}
    locked = sign_in(client, PASSWORD)
    assert locked.status_code == 429
    assert not signed_in(client)
    assert "AXES: New login failure" in caplog.text
    assert "AXES: Locking out" in caplog.text


def test_the_account_is_locked_whichever_address_the_guesses_come_from(staff):
    for n in range(5):
        # Through the trusted proxy (127.0.0.1), each guess from another client address.
        sign_in(Client(), f"guess-{n}", HTTP_X_REAL_IP=f"198.51.100.{n}")
    fresh = Client()
    assert sign_in(fresh, PASSWORD, HTTP_X_REAL_IP="198.51.100.200").status_code == 429
    assert not signed_in(fresh)


def test_one_address_guessing_many_accounts_is_locked_out(staff):
    attacker = Client()
    for n in range(5):
        sign_in(attacker, "x", username=f"user{n}", HTTP_X_REAL_IP="198.51.100.9")
    assert sign_in(attacker, PASSWORD, HTTP_X_REAL_IP="198.51.100.9").status_code == 429
    # Another client signs in to the same account from elsewhere: only the address is locked.
    colleague = Client()
    assert sign_in(colleague, PASSWORD, HTTP_X_REAL_IP="203.0.113.4").status_code == 302
    assert signed_in(colleague)


def test_a_forged_x_real_ip_does_not_escape_the_address_lockout(staff):
    for n in range(5):
        sign_in(
            Client(), "x", username=f"user{n}", REMOTE_ADDR="203.0.113.66",
            HTTP_X_REAL_IP=f"198.51.100.{n}",
        )  # fmt: skip
    blocked = sign_in(Client(), PASSWORD, REMOTE_ADDR="203.0.113.66", HTTP_X_REAL_IP="10.9.9.9")
    assert blocked.status_code == 429


def test_a_few_mistakes_then_the_right_password_signs_in(client, staff):
    for n in range(3):
        sign_in(client, f"typo-{n}")
    assert sign_in(client, PASSWORD).status_code == 302
    assert signed_in(client)
