"""Production settings, exercised as a server runs them: in subprocesses, from env values."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import zlib

import pytest

from .servers import ROOT, free_port

pytestmark = pytest.mark.integration


def production_env(tmp_path, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "CELERY_", "SENTRY_"))
        and key not in ("DEBUG", "SECRET_KEY", "LOG_FORMAT", "DATABASE_URL", "EMAIL_URL")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "digest.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "SITE_URL": "https://paperboy.example.org",
            "ALLOWED_HOSTS": "paperboy.example.org",
            "DEFAULT_FROM_EMAIL": "Paperboy <digest@paperboy.example.org>",
            "UNSUBSCRIBE_MAILTO": "unsubscribe@paperboy.example.org",
            "PAPERBOY_VAR_DIR": str(tmp_path / "var"),
            # Production mail leaves the machine; no message is sent by these tests.
            "EMAIL_URL": "smtp+tls://paperboy:secret@smtp.example.org:587",
        }
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def shell_on_fresh_postgres(tmp_path, postgres_server, name: str, script: str):
    """Runs `script` in `manage.py shell` with production settings on a new, migrated
    PostgreSQL database; returns the process and the JSON its last line prints."""
    url = postgres_server.create_database(name)
    env = production_env(tmp_path, DATABASE_URL=url, EMAIL_URL=f"filemail://{tmp_path / 'mail'}")
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    result = manage(env, "shell", "--no-imports", "-c", script)
    assert result.returncode == 0, result.stderr
    return result, json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_passes_with_no_warning_on_production_values(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNING" not in output


def test_production_refuses_to_run_when_its_mail_would_never_leave_the_machine(tmp_path):
    env = production_env(tmp_path, EMAIL_URL=None)

    for command in (["check"], ["check", "--deploy"], ["migrate", "--noinput"]):
        result = manage(env, *command)
        assert result.returncode != 0, command
        assert "digest.E002" in result.stdout + result.stderr
    # Files on purpose are a choice, which passes.
    on_purpose = production_env(tmp_path, EMAIL_URL=f"filemail://{tmp_path / 'mail'}")
    assert manage(on_purpose, "check", "--deploy", "--fail-level", "WARNING").returncode == 0


def test_an_email_service_without_a_webhook_secret_is_refused_until_it_has_one(tmp_path):
    env = production_env(
        tmp_path, EMAIL_URL=None, ANYMAIL_ESP="postmark", ANYMAIL_POSTMARK_SERVER_TOKEN="token"
    )

    refused = manage(env, "check", "--deploy")
    assert refused.returncode != 0
    assert "digest.E001" in refused.stdout + refused.stderr
    env["ANYMAIL_WEBHOOK_SECRET"] = "paperboy:" + secrets.token_urlsafe(30)
    accepted = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_collectstatic_writes_the_hashed_manifest_whitenoise_serves(tmp_path):
    env = production_env(tmp_path)
    result = manage(env, "collectstatic", "--noinput")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "var" / "static" / "staticfiles.json").read_text())
    assert manifest["paths"], "no static file was collected"
    hashed = next(iter(manifest["paths"].values()))
    assert (tmp_path / "var" / "static" / hashed).exists()


LOGGING_SCRIPT = """
import logging
from digest.ops.logs import log_context
with log_context(delivery_id=42):
    logging.getLogger("paperboy.test").info("hello %s", "world", extra={"fetch_run_id": 7})
logging.getLogger("paperboy.test").warning("plain line")
"""


def test_logs_are_one_json_object_per_line_with_the_ids_when_debug_is_off(tmp_path):
    result = manage(production_env(tmp_path), "shell", "--no-imports", "-c", LOGGING_SCRIPT)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    hello = next(line for line in lines if line["message"] == "hello world")
    assert hello["delivery_id"] == 42
    assert hello["fetch_run_id"] == 7
    assert hello["level"] == "INFO"
    assert hello["logger"] == "paperboy.test"
    assert "time" in hello
    plain = next(line for line in lines if line["message"] == "plain line")
    assert "delivery_id" not in plain  # the context ended with its block


def test_logs_are_plain_text_in_debug_unless_json_is_asked_for(tmp_path):
    plain = manage(
        production_env(tmp_path, DEBUG="1"), "shell", "--no-imports", "-c", LOGGING_SCRIPT
    )
    assert "INFO paperboy.test hello world" in plain.stderr
    forced = manage(
        production_env(tmp_path, DEBUG="1", LOG_FORMAT="json"),
        "shell",
        "--no-imports",
        "-c",
        LOGGING_SCRIPT,
    )
    assert '"message": "hello world"' in forced.stderr


HEALTH_SCRIPT = """
from django.test import Client
response = Client().get("/health/", HTTP_HOST="paperboy.example.org", secure=True)
print("STATUS", response.status_code)
print("BODY", response.content.decode())
"""


def _health(env: dict[str, str]) -> tuple[int, dict]:
    result = manage(env, "shell", "--no-imports", "-c", HEALTH_SCRIPT)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    return int(lines["STATUS"]), json.loads(lines["BODY"])


def test_health_reports_database_and_broker_ok(tmp_path, redis_server, postgres_server):
    env = production_env(
        tmp_path, DATABASE_URL=postgres_server.url(), CELERY_BROKER_URL=redis_server.url
    )
    status, body = _health(env)
    assert (status, body["status"], body["database"], body["broker"]) == (200, "ok", "ok", "ok")


def test_health_is_503_naming_the_broker_when_redis_is_down(tmp_path, postgres_server):
    env = production_env(
        tmp_path,
        DATABASE_URL=postgres_server.url(),
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
        HEALTH_CHECK_TIMEOUT="2",
    )
    status, body = _health(env)
    assert status == 503
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")


def test_health_is_503_naming_the_database_when_postgres_is_down(tmp_path, redis_server):
    env = production_env(
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/paperboy",
        CELERY_BROKER_URL=redis_server.url,
    )
    status, body = _health(env)
    assert status == 503
    assert body["database"].startswith("error")
    assert body["broker"] == "ok"


class _SentryIngest(http.server.BaseHTTPRequestHandler):
    """Stands in for sentry.io: keeps every envelope POSTed to it."""

    envelopes: list[bytes] = []

    def do_POST(self):  # noqa: N802 - the base class's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.envelopes.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format, *args):  # noqa: A002
        pass


def test_errors_reach_sentry_when_a_dsn_is_set(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SentryIngest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _SentryIngest.envelopes = []
    dsn = f"http://publickey@127.0.0.1:{server.server_port}/1"
    script = """
import logging, sentry_sdk
client = sentry_sdk.get_client()
print("INTEGRATIONS", sorted(client.integrations))
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("paperboy.test").exception("the sum went wrong")
sentry_sdk.flush(timeout=10)
"""
    try:
        result = manage(
            production_env(tmp_path, SENTRY_DSN=dsn), "shell", "--no-imports", "-c", script
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert "'celery'" in result.stdout and "'django'" in result.stdout
    sent = b"".join(_SentryIngest.envelopes)
    assert b"ZeroDivisionError" in sent
    assert b"the sum went wrong" in sent
