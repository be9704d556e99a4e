"""The test run's settings: production's module, with a throw-away key and its own queue.

digest/settings.py refuses to start without SECRET_KEY outside DEBUG. The test process
sets one here, before the settings load, and the servers and commands the tests start
in subprocesses inherit it with the rest of the environment.
"""

import atexit
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "tests-" + secrets.token_urlsafe(40))

from digest.ops.filequeue import filesystem_broker  # noqa: E402
from digest.settings import *  # noqa: E402, F403
from digest.settings import CELERY_BROKER_URL  # noqa: E402

# Tasks the tests queue (a refit after an answer, the ranking's preparation after an
# ingestion) must not wait in the checkout's var/broker: the developer's next `make run`
# worker would take them and run them against the development database. Commands a test
# starts with a var folder of its own keep their queue there, as before.
# The processes a test run starts share its folder; the run that made it removes it.
# (mypy's Django plugin reads these settings too, and queues nothing: no folder for it.)
_testing = "pytest" in sys.modules or "PAPERBOY_TEST_BROKER_DIR" in os.environ
if CELERY_BROKER_URL == "filesystem://" and "PAPERBOY_VAR_DIR" not in os.environ and _testing:
    if "PAPERBOY_TEST_BROKER_DIR" not in os.environ:
        _made = tempfile.mkdtemp(prefix="paperboy-test-broker-")
        os.environ["PAPERBOY_TEST_BROKER_DIR"] = _made
        atexit.register(shutil.rmtree, _made, True)
    TEST_BROKER_DIR = Path(os.environ["PAPERBOY_TEST_BROKER_DIR"])
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(TEST_BROKER_DIR)

# The tests' feed, arXiv and SMTP servers listen on loopback, which production refuses
# to fetch from (INGEST_ALLOWED_NETWORKS; tests/digest/sources/test_reach.py).
INGEST_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1"]
