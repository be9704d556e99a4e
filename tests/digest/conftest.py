"""Fixtures of the papers side: a feed server on loopback, fast retries, an SMTP server."""

from __future__ import annotations

import logging

import pytest

from digest.models import Source
from tests.helpers.feeds import FeedServer
from tests.helpers.smtp import SMTPServer


@pytest.fixture
def feed_server():
    """A real HTTP server on 127.0.0.1 serving recorded listings; no test leaves loopback."""
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def fast_http(settings):
    """Retries and arXiv's request slot shrunk so failure-path tests take milliseconds."""
    settings.INGEST_BACKOFF_SECONDS = 0.01
    settings.INGEST_MAX_BACKOFF_SECONDS = 2.0
    settings.INGEST_MAX_ATTEMPTS = 3
    settings.INGEST_CONNECT_TIMEOUT = 2.0
    settings.INGEST_READ_TIMEOUT = 2.0
    settings.ARXIV_MIN_INTERVAL_SECONDS = 0.0
    return settings


@pytest.fixture
def no_default_sources(db):
    """The data migration's real feeds would reach the internet: tests start without them."""
    Source.objects.all().delete()


@pytest.fixture
def smtp_server(settings):
    """Django sends through plain SMTP to a recording server on 127.0.0.1."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10
        yield server.handler
