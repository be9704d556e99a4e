"""The test run's settings: production's module, with a throw-away key.

digest/settings.py refuses to start without SECRET_KEY outside DEBUG. The test process
sets one here, before the settings load, and the servers and commands the tests start
in subprocesses inherit it with the rest of the environment.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "tests-" + secrets.token_urlsafe(40))

from digest.settings import *  # noqa: E402, F403
