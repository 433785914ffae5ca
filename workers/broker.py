"""The Redis transport of the workers: kombu's, hardened against a crash on a lost connection.

With Celery 5.7.0 and kombu 5.7.0, a worker that loses its Redis connection while it holds
unacknowledged messages (always, with ``acks_late`` and a task running) dies: the consumer closes
the broken connection after detaching its transport, and every later use of the old channel
(putting the unacknowledged messages back at close, acknowledging a task that finishes after
the reconnection) fails with ``AttributeError: 'NoneType' object has no attribute 'hostname'``,
which Celery treats as unrecoverable (seen in tests/e2e/test_run_faults.py::
test_redis_restart_mid_run; same family as celery#7185 and #9250).

Here a channel whose connection was detached raises ``redis.exceptions.ConnectionError``
instead: a connection error, which kombu and Celery already handle (log, reconnect, go on).
Nothing is lost: an unacknowledged message stays in Redis's unacked set (redelivered after the
visibility timeout, then skipped by its step if done) and the watchdog re-sends lost steps sooner.
Selected by ``broker_transport`` in workers/app.py for redis:// brokers only.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis

TRANSPORT = "workers.broker:Transport"


class Channel(kombu_redis.Channel):
    """kombu's Redis channel; used after its connection was detached, it says so with a
    connection error instead of crashing the worker with an AttributeError."""

    def _connparams(self, asynchronous: bool = False) -> Any:
        transport = self.connection
        if transport is None or getattr(transport, "client", None) is None:
            raise redis.exceptions.ConnectionError(
                "this channel's broker connection was closed (Redis restarted or unreachable)"
            )
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with the channel above."""

    Channel = Channel
