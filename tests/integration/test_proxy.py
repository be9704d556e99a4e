"""Rate limits through the shipped nginx config, in front of gunicorn, per client.

nginx and gunicorn run for real on loopback. Clients are told apart the way nginx tells
them apart, by the address they connect from: 127.0.0.2 and 127.0.0.3 are both this
machine's loopback, so each client binds its socket to one of them and nginx's
$remote_addr differs.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.core import signing

from .servers import ROOT, free_port, require, wait_for
from .test_production_settings import production_env

pytestmark = pytest.mark.integration

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
SHIPPED = ROOT / "deploy" / "nginx" / "paperboy.conf"


@dataclass
class Site:
    env: dict[str, str]
    mail: Path  # EMAIL_URL=filemail://: production keeps mail in files only when told so

    def outbox(self) -> list[Path]:
        """The messages sent, one file each (Django's file backend, a connection a file)."""
        return sorted(self.mail.glob("*")) if self.mail.exists() else []


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    """A production-shaped site on SQLite with no CACHE_URL: migrated, statics collected."""
    tmp = tmp_path_factory.mktemp("proxy")
    env = production_env(
        tmp,
        SITE_URL="http://127.0.0.1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        EMAIL_URL=f"filemail://{tmp / 'mail'}",
    )
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return Site(env, tmp / "mail")


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def start_gunicorn(site: Site, log: Path, workers: int = 2) -> Server:
    port = free_port()
    env = {**site.env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py",
             "digest.wsgi"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(process, port, log)
    wait_for(lambda: _answers(server.url + "/") or process.poll() is not None, 60, "gunicorn")
    assert process.poll() is None, log.read_text()
    return server


def nginx_config(app_port: int, port: int, folder: Path) -> str:
    """The shipped site with its upstream pointed at the test's gunicorn, plain HTTP on a
    loopback port instead of TLS on 443, and its logs in `folder`. Everything else
    (the proxy headers above all) is used as shipped."""
    site = SHIPPED.read_text()
    site, upstreams = re.subn(r"server 127\.0\.0\.1:8000", f"server 127.0.0.1:{app_port}", site)
    # The port-80 server only redirects to HTTPS: dropped.
    site, redirects = re.subn(r"\nserver \{\n    listen 80;.*?\n\}\n", "\n", site, flags=re.S)
    site, listens = re.subn(r"listen 443 ssl;", f"listen 127.0.0.1:{port};", site)
    site = re.sub(r"\n\s*(listen \[::\]:443 ssl|http2 on|ssl_[a-z_]+ [^;]+);", "", site)
    site, logs = re.subn(r"/var/log/nginx/paperboy\.access\.log", str(folder / "access.log"), site)
    assert (upstreams, redirects, listens, logs) == (1, 1, 1, 1), "deploy/nginx changed shape"
    user = "user root;" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                          "uwsgi", "scgi")
    )  # fmt: skip
    return (
        f"{user}\ndaemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'};\nevents {{ worker_connections 64; }}\n"
        f"http {{\n{temp}\naccess_log off;\n{site}\n}}\n"
    )


@pytest.fixture(scope="module")
def proxied(site, tmp_path_factory) -> Iterator[tuple[Server, Server]]:
    """gunicorn (deploy/gunicorn.conf.py, two workers) behind nginx (deploy/nginx)."""
    require("nginx", NGINX is not None)
    folder = tmp_path_factory.mktemp("nginx")
    app = start_gunicorn(site, folder / "gunicorn.log")
    port = free_port()
    (folder / "nginx.conf").write_text(nginx_config(app.port, port, folder))
    assert NGINX is not None, "the fixture runs only with nginx installed"
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e",
         str(folder / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    proxy = Server(process, port, folder / "access.log")
    try:
        wait_for(lambda: _answers(proxy.url + "/") or process.poll() is not None, 30, "nginx")
        assert process.poll() is None, process.stderr and process.stderr.read().decode()
        yield proxy, app
    finally:
        proxy.stop()
        app.stop()


def client(base_url: str, address: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30)


def sign_up(browser: httpx.Client, email: str, **headers: str) -> int:
    page = browser.get("/", headers=headers)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, "the page has a CSRF token"
    token = found.group(1)
    data = {"email": email, "csrfmiddlewaretoken": token}
    return browser.post("/", data=data, headers=headers).status_code


def test_two_clients_behind_nginx_have_separate_buckets_and_a_forged_header_is_ignored(
    proxied,
):
    proxy, _ = proxied
    first, second = client(proxy.url, "127.0.0.2"), client(proxy.url, "127.0.0.3")
    answers = [sign_up(first, f"first-{i}@example.org") for i in range(20)]
    assert answers == [200] * 20
    assert sign_up(first, "first-21@example.org") == 429
    # nginx replaces the client's own X-Real-IP with the address it connected from.
    assert sign_up(first, "forged@example.org", **{"X-Real-IP": "198.51.100.77"}) == 429
    assert sign_up(second, "second@example.org") == 200


def test_no_token_reaches_the_access_logs_of_nginx_or_gunicorn(proxied):
    proxy, app = proxied
    token = signing.TimestampSigner(salt="paperboy.confirm").sign(uuid.uuid4().hex)
    response = client(proxy.url).get(f"/confirm/{token}/?utm_source={token}")
    assert response.status_code == 400  # signed with the test's key, not the site's
    signature = token.rsplit(":", 1)[1]
    for log in (proxy.log, app.log):
        text = wait_for(lambda log=log: "/confirm/" in log.read_text() and log.read_text(), 10,
                        f"the request in {log.name}")  # fmt: skip
        assert "/confirm/[token]" in text
        assert signature not in text


def test_a_post_over_nginxs_limit_gets_the_sites_own_page(proxied):
    proxy, _ = proxied
    response = client(proxy.url).post("/", data={"email": "x" * 2_000_000})
    assert response.status_code == 413
    assert "far more than any of our forms sends" in response.text
    assert "Nothing was saved or changed" in response.text


def test_two_web_processes_share_the_limit_on_confirmation_mails(site, tmp_path):
    """Two processes on one SQLite database and no CACHE_URL, requests alternating:
    per-process counters would let ten confirmation mails through, not five."""
    servers = [start_gunicorn(site, tmp_path / f"web-{n}.log", workers=1) for n in (1, 2)]
    try:
        before = len(site.outbox())
        browsers = [client(server.url) for server in servers]
        answers = [sign_up(browsers[i % 2], "twice@example.org") for i in range(10)]
        assert sorted(answers) == [200] * 5 + [429] * 5
        assert answers[:5] == [200] * 5
        wait_for(lambda: len(site.outbox()) - before >= 5, 30, "five confirmation mails")
    finally:
        for server in servers:
            server.stop()
    mails = [p.read_text(errors="replace") for p in site.outbox()[before:]]
    assert len(mails) == 5
    assert all("twice@example.org" in mail for mail in mails)
