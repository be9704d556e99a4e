"""Fixtures every test may use: an isolated outbox, and named subscribers."""

from pathlib import Path

import pytest
import time_machine

from tests.factories import MONDAY_9_UTC

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_outbox(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.SITE_URL = "http://testserver"
    # Pages render without a collectstatic run; the manifest storage needs one.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def outbox_backend(settings):
    """Mail goes to the real outbox backend (the embedded default) instead of locmem."""
    settings.EMAIL_BACKEND = "digest.mail.outbox.OutboxEmailBackend"
    return settings.OUTBOX_DIR


@pytest.fixture
def on_monday():
    """The clock at MONDAY_9_UTC, for tests that plan a given day's digests."""
    with time_machine.travel(MONDAY_9_UTC):
        yield
