"""The signing key: production refuses to run without a real one, and rotating it keeps
the links in old emails working (SECRET_KEY_FALLBACKS)."""

from __future__ import annotations

import secrets

import pytest

from .test_production_settings import manage, production_env

pytestmark = pytest.mark.integration

MAKE_TOKEN = """
from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose, make_token
s = Subscriber.objects.create(email="rotate@example.org", status="active")
print("TOKEN", make_token(s, Purpose.PREFERENCES))
"""

READ_TOKEN = """
from subscriptions.tokens import BadToken, Purpose, read_token
try:
    read_token(TOKEN, Purpose.PREFERENCES)
    print("VERIFIED")
except BadToken:
    print("REFUSED")
"""


@pytest.mark.parametrize(
    "key",
    [None, "", "django-insecure-paperboy-development-key-change-me-0123456789",
     "change-me-to-50-random-characters"],
    ids=["unset", "empty", "development-key", "example-env-placeholder"],
)  # fmt: skip
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, key):
    env = production_env(tmp_path, SECRET_KEY=key)
    result = manage(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_debug_runs_on_the_development_key_which_check_deploy_refuses(tmp_path):
    env = production_env(tmp_path, SECRET_KEY=None, DEBUG="1")
    assert manage(env, "check").returncode == 0
    deploy = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert deploy.returncode != 0
    assert "security.W009" in deploy.stdout + deploy.stderr


def _token_signed_with(tmp_path, key: str) -> tuple[dict[str, str], str]:
    env = production_env(tmp_path, SECRET_KEY=key)
    assert manage(env, "migrate", "--noinput").returncode == 0
    result = manage(env, "shell", "--no-imports", "-c", MAKE_TOKEN)
    assert result.returncode == 0, result.stderr
    return env, result.stdout.split("TOKEN ", 1)[1].strip()


def _verify(env: dict[str, str], token: str) -> str:
    result = manage(env, "shell", "--no-imports", "-c", f"TOKEN = {token!r}\n{READ_TOKEN}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_a_link_signed_with_the_old_key_works_after_rotation_while_the_old_key_is_listed(
    tmp_path,
):
    old, new = secrets.token_urlsafe(50), secrets.token_urlsafe(50)
    env, token = _token_signed_with(tmp_path, old)
    rotated = {
        **env,
        "SECRET_KEY": new,
        "SECRET_KEY_FALLBACKS": f"{secrets.token_urlsafe(50)},{old}",
    }
    assert _verify(rotated, token) == "VERIFIED"
    assert _verify({**rotated, "SECRET_KEY_FALLBACKS": ""}, token) == "REFUSED"
