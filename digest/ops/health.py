"""GET /health/: is this instance able to do its job? The database and the broker, as JSON.

200 with {"status": "ok", "database": "ok", "broker": "ok"} when both answer, 503 naming
the one that did not. Load balancers, Docker's healthcheck and uptime monitors poll it,
so each check is bounded by HEALTH_CHECK_TIMEOUT and nothing is retried.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from digest.celery import app

log = logging.getLogger(__name__)


def check_database() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A hung database must not hang the probe; LOCAL ends with the transaction.
            timeout_ms = int(settings.HEALTH_CHECK_TIMEOUT * 1000)
            cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
        cursor.execute("SELECT 1")


def check_broker() -> None:
    """Opens (and closes) one connection to the broker, without Celery's retry loop."""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    options = {
        **(app.conf.broker_transport_options or {}),
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
    }
    with app.connection_for_write(connect_timeout=timeout, transport_options=options) as broker:
        broker.ensure_connection(max_retries=0, timeout=timeout)
        if broker.transport.driver_type == "redis":
            # Connecting is lazy in redis-py; a PING proves the server answers.
            broker.default_channel.client.ping()  # type: ignore[attr-defined]  # a redis channel


CHECKS = {"database": check_database, "broker": check_broker}


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    report: dict[str, str | int] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
            report[name] = f"error: {exc.__class__.__name__}"
            log.warning(
                "health check failed: %s",
                name,
                extra={"check": name, "error": repr(exc)[:300]},
            )
        else:
            report[name] = "ok"
        report[f"{name}_ms"] = round((time.monotonic() - started) * 1000)
    healthy = all(report[name] == "ok" for name in CHECKS)
    return JsonResponse(
        {"status": "ok" if healthy else "error", **report}, status=200 if healthy else 503
    )
