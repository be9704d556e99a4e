"""Signed tokens never reach a log line whole: the app's lines, gunicorn's access log and
the development server's request lines."""

from __future__ import annotations

import datetime
import io
import logging
import threading
import urllib.error
import urllib.request
import uuid

import pytest
from django.core import signing
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from gunicorn.config import Config

from digest.delivery.links import feed_token
from digest.ops.accesslog import RedactingLogger
from digest.ops.logs import JsonFormatter, PlainFormatter
from digest.ops.redact import redact
from subscriptions import tokens
from tests.factories import make_subscriber


def a_token(extra: str = "") -> str:
    payload = uuid.uuid4().hex + (f":{extra}" if extra else "")
    return signing.TimestampSigner(salt="paperboy.test").sign(payload)


@pytest.mark.parametrize(
    "extra", ["", "2501.00001:1", "hep-th/9901001:-1", "1764752400.123456:1764752400"]
)
def test_every_token_shape_is_replaced(extra):
    token = a_token(extra)
    assert redact(f"GET /feedback/{token}/?next=/x HTTP/1.1") == (
        "GET /feedback/[token]/?next=/x HTTP/1.1"
    )
    assert redact(f"/confirm/{token.replace(':', '%3A')}/") == "/confirm/[token]/"


def test_the_feeds_token_without_a_timestamp_is_replaced_too(db):
    # The feed's link is signed without a timestamp (one URL for a feed reader to keep),
    # and feed readers fetch it every hour: every access log line carried it whole.
    token = feed_token(make_subscriber("alice@example.org"))
    assert token.count(":") == 1
    assert redact(f"GET /feed/{token}/ HTTP/1.1") == "GET /feed/[token]/ HTTP/1.1"
    assert redact(f"/feed/{token.replace(':', '%3A')}/") == "/feed/[token]/"


@pytest.mark.django_db
def test_the_feed_of_a_deleted_subscriber_is_logged_without_its_token(client):
    subscriber = make_subscriber("alice@example.org")
    token = feed_token(subscriber)
    subscriber.delete()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get(f"/feed/{token}/")  # the reader keeps asking: a 404 each time
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    assert "/feed/[token]/" in stream.getvalue()
    assert token.split(":")[1] not in stream.getvalue()


def test_lines_without_tokens_are_left_alone():
    for line in ("GET /health/ HTTP/1.1", "12:30:45 sent 3 digests", "cs.CL: 2501.00001"):
        assert redact(line) == line


@pytest.mark.django_db
@pytest.mark.parametrize("formatter", [JsonFormatter(), PlainFormatter("%(message)s")])
def test_a_bad_link_is_logged_without_its_token(client, formatter):
    # A 4xx answer makes Django log the path: here the token of an expired link.
    subscriber = make_subscriber("alice@example.org")
    token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get(f"/confirm/{token}/")  # a preferences token: wrong purpose
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 400
    assert "/confirm/[token]/" in stream.getvalue()
    assert token.split(":")[0] not in stream.getvalue()


class _Response:
    status = "200 OK"
    sent = 120
    headers: list[tuple[str, str]] = []


def test_gunicorns_access_log_writes_the_request_line_without_the_token():
    token = a_token()
    config = Config()
    config.set("access_log_format", '%(h)s "%(r)s" %(s)s "%(f)s"')
    logger = RedactingLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/preferences/{token}/?saved=1",
        "PATH_INFO": f"/preferences/{token}/",
        "QUERY_STRING": "saved=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://paperboy.test/unsubscribe/{token}/",
    }
    atoms = logger.atoms(_Response(), [], environ, datetime.timedelta(seconds=0.1))
    line = config.access_log_format % atoms
    assert line == (
        '127.0.0.1 "GET /preferences/[token]/?saved=1 HTTP/1.1" 200 '
        '"https://paperboy.test/unsubscribe/[token]/"'
    )


@pytest.fixture
def dev_server_log():
    """What the `django.server` logger's own handlers write (runserver's request lines,
    `make run`), caught in memory instead of the terminal."""
    stream = io.StringIO()
    logger = logging.getLogger("django.server")
    # Its terminal handler, not the ones pytest adds to catch every logger's records.
    handlers = [h for h in logger.handlers if type(h) is logging.StreamHandler]
    assert handlers, "runserver's request log has a handler"
    before = [h.setStream(stream) for h in handlers]
    yield stream
    for handler, original in zip(handlers, before, strict=True):
        handler.setStream(original)


def test_the_development_servers_request_line_has_no_token(dev_server_log):
    # The server `make run` starts (Procfile.dev: runserver), on loopback, serving the site.
    token = a_token()  # signed with another salt: a bad link, answered without the database
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/preferences/{token}/"
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(url, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.value.code == 400
    line = dev_server_log.getvalue()
    assert '"GET /preferences/[token]/ HTTP/1.1" 400' in line
    assert token.split(":")[0] not in line
