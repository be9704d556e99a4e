"""Numbers given to the commands: a bad one is refused in one line before anything runs."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.cockpit.models import DailyStat

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("cockpit_rollup", ["--days", "0"], "--days: not a whole number from 1 to 3660: '0'"),
        ("cockpit_rollup", ["--days", "-3"], "--days: not a whole number from 1 to 3660: '-3'"),
        # 100,000 days rolled up 85,000 empty days back to the 18th century.
        (
            "cockpit_rollup",
            ["--days", "100000"],
            "--days: not a whole number from 1 to 3660: '100000'",
        ),
        ("refit_learners", ["--batch", "0"], "--batch: not a whole number from 1 to"),
        ("refit_learners", ["--batch", "-1"], "--batch: not a whole number from 1 to"),
        # -1 ended in a traceback, 0 encoded nothing and said so as if done.
        ("encode_descriptions", ["--batch", "0"], "--batch: not a whole number from 1 to"),
        ("encode_descriptions", ["--batch", "-1"], "--batch: not a whole number from 1 to"),
    ],
)
def test_a_bad_number_is_refused_with_one_clear_line(command, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command(command, *args)
    assert not DailyStat.objects.exists()
