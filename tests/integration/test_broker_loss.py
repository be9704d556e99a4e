"""A worker's connection to Redis, closed as Celery closes it after a lost connection,
ends in a connection error that Celery recovers from, never in an AttributeError that
stops the worker (digest/ops/brokerfix.py)."""

from __future__ import annotations

import pytest
from kombu import Connection

import digest.celery  # noqa: F401 - the worker's app module, which applies the fix

pytestmark = pytest.mark.integration


def test_a_channel_closed_after_its_transport_was_dropped_ends_quietly(redis_server):
    connection = Connection(redis_server.url)
    channel = connection.default_channel
    # A task taken and not yet acknowledged (acks_late), as while a chunk is being sent.
    channel.qos._delivered["in-flight"] = None
    # What Celery's collect() leaves when Redis went away mid-poll: the transport dropped,
    # the channel not yet closed.
    connection._do_close_transport()

    connection.maybe_close_channel(channel)  # kombu 5.7 alone: AttributeError 'hostname'

    assert channel.closed


def test_a_publish_on_a_channel_whose_transport_is_gone_raises_a_connection_error(redis_server):
    connection = Connection(redis_server.url)
    channel = connection.default_channel
    channel._disconnect_pools()  # as the failed close left it
    channel.connection = None

    with pytest.raises(connection.connection_errors):  # kombu 5.7 alone: AttributeError
        channel._put("send", {"body": "a chunk"})
