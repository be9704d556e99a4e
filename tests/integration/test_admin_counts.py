"""On PostgreSQL an unfiltered admin list of a big table shows the planner's row
estimate instead of counting every row; a filtered list is counted exactly."""

from __future__ import annotations

import json

import pytest

from .test_production_settings import manage, production_env

pytestmark = pytest.mark.integration

SCRIPT = """
import json
from django.db import connection
from django.test.utils import CaptureQueriesContext
from digest.cockpit import adminkit
from digest.models import FetchRun
FetchRun.objects.bulk_create(
    FetchRun(kind="arxiv-rss", url="https://a.test/", status="failed" if n % 4 else "ok")
    for n in range(400)
)
with connection.cursor() as cursor:
    cursor.execute("ANALYZE digest_fetchrun")
adminkit.EXACT_COUNT_BELOW = 100  # the table counts as big for this test
result = {}
for name, rows in [("all", FetchRun.objects.all()), ("ok", FetchRun.objects.filter(status="ok"))]:
    with CaptureQueriesContext(connection) as captured:
        count = adminkit.EstimatedCountPaginator(rows.order_by("pk"), 50).count
    result[name] = [count, any("COUNT(*)" in q["sql"] for q in captured.captured_queries)]
print(json.dumps(result))
"""


def test_a_big_unfiltered_list_is_estimated_and_a_filtered_one_counted(tmp_path, postgres_server):
    url = postgres_server.create_database("admin_counts")
    env = production_env(tmp_path, DATABASE_URL=url)
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    result = manage(env, "shell", "--no-imports", "-c", SCRIPT)
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["all"] == [400, False]  # ANALYZE saw every row of this small table
    assert counts["ok"] == [100, True]
