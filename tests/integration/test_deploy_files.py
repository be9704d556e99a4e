"""The deploy/ files agree with the settings: Docker can't run here, so parse and cross-check."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys

import pytest

from .servers import ROOT
from .test_production_settings import manage, production_env

pytestmark = pytest.mark.integration

DEPLOY = ROOT / "deploy"
QUEUES = {"celery", "ingest", "send"}


def load_compose() -> dict:
    """docker-compose.yml as data, through PyYAML here or in a system Python that has it."""
    path = DEPLOY / "docker-compose.yml"
    try:
        import yaml
    except ImportError:
        for python in ("python3", "/usr/bin/python3"):
            if shutil.which(python):
                result = subprocess.run(
                    [python, "-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load("
                     "open(sys.argv[1]))))", str(path)],
                    capture_output=True,
                    text=True,
                )  # fmt: skip
                if result.returncode == 0:
                    return json.loads(result.stdout)
        pytest.skip("PyYAML is not installed; cannot parse docker-compose.yml")
    return yaml.safe_load(path.read_text())


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_compose_runs_web_workers_on_every_queue_and_exactly_one_beat():
    services = load_compose()["services"]
    assert {"web", "worker", "worker-send", "beat", "postgres", "redis", "migrate"} <= set(services)
    assert "nginx" in services["nginx"]["profiles"]
    assert "gunicorn" in command_of(services["web"])
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "DatabaseScheduler" in command_of(services["beat"])
    consumed = set()
    for name in ("worker", "worker-send"):
        match = re.search(r"--queues\s+(\S+)", command_of(services[name]))
        assert match, f"{name} must name its queues"
        consumed |= set(match.group(1).split(","))
    assert consumed == QUEUES
    for name in ("web", "worker", "worker-send", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_settings_route_ingestion_and_sending_to_their_queues(tmp_path):
    script = (
        "from django.conf import settings; from digest.celery import app; import json; "
        "r = app.amqp.router; "
        "print(json.dumps({n: r.route({}, n)['queue'].name for n in "
        "['digest.tasks.tick', 'digest.tasks.ingest_all', 'digest.tasks.ingest_source', "
        "'digest.tasks.send_chunk', 'digest.tasks.prepare_ranking']}))"
    )
    result = manage(production_env(tmp_path), "shell", "--no-imports", "-c", script)
    assert result.returncode == 0, result.stderr
    routes = json.loads(result.stdout.strip().splitlines()[-1])
    assert routes == {
        "digest.tasks.tick": "celery",
        "digest.tasks.ingest_all": "ingest",
        "digest.tasks.ingest_source": "ingest",
        "digest.tasks.send_chunk": "send",
        "digest.tasks.prepare_ranking": "send",
    }


def test_example_env_passes_check_deploy_once_its_secret_is_filled_in(tmp_path):
    values = {}
    for line in (DEPLOY / "example.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    assert values["SECRET_KEY"].startswith("change-me")
    env = production_env(tmp_path, **{k: v for k, v in values.items() if k != "SECRET_KEY"})
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "unit", ["paperboy-web.service", "paperboy-worker@.service", "paperboy-beat.service"]
)
def test_systemd_units_run_the_venv_as_the_paperboy_user(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["User"] == "paperboy"
    assert service["EnvironmentFile"].lstrip("-").startswith("/etc/paperboy/")
    assert service["ExecStart"].startswith("/opt/paperboy/.venv/bin/")
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_the_gunicorn_config_loads(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import runpy; c = runpy.run_path('deploy/gunicorn.conf.py'); "
         "assert c['accesslog'] == '-' and c['logconfig_dict']"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
