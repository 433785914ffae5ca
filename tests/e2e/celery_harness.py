"""Real Celery workers for end-to-end tests: processes on the local Redis, never eager mode."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import redis

# the worker processes themselves are shared with the bench
from pipeline.sim.processes import celery_worker as celery_worker
from pipeline.sim.processes import process_env as process_env
from pipeline.sim.processes import reunify as reunify
from pipeline.sim.processes import stop, wait_ready

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("REUNIFY_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def free_redis_db(base_url: str) -> str:
    """A Redis URL on an empty numbered database of the local server (1..15), flushed first."""
    for _ in range(30):
        db = random.randint(1, 15)
        client = redis.Redis.from_url(f"{base_url}/{db}")
        # Claim the database so two concurrent test sessions do not share it.
        if client.set("reunify-test-claim", str(os.getpid()), nx=True, ex=3600):
            client.flushdb()
            client.set("reunify-test-claim", str(os.getpid()), ex=3600)
            return f"{base_url}/{db}"
    raise RuntimeError("no free Redis database among 1..15")


def release_redis_db(url: str) -> None:
    """Empty the database again."""
    redis.Redis.from_url(url).flushdb()


def pool_pids(proc: subprocess.Popen[bytes]) -> set[int]:
    """The worker's own pid and its pool processes' pids (its process group)."""
    pids = {proc.pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == proc.pid:  # process group id
                    pids.add(int(entry.name))
    return pids


@contextmanager
def celery_beat(env: Mapping[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A ``celery -A workers beat`` process with its schedule file beside the log."""
    schedule = log_path.with_suffix(".schedule")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "workers", "beat", "--loglevel=INFO", f"--schedule={schedule}"],
            cwd=REPO,
            env=process_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(proc, log_path, marker=b"beat: Starting")
            yield proc
        finally:
            stop(proc)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of this test alone, on a free port, with persistence as in production
    (AOF + snapshots, noeviction); ``restart()`` stops it (SIGTERM) and starts it again."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--appendonly",
                "yes",
                "--save",
                "60 1",
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(lambda: self._ping(), 20, "private redis-server to answer")

    def _ping(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, down_seconds: float = 1.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``predicate`` until it returns something true; that value. TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def start_reunify(args: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start the ``reunify`` command in the background, its output into ``log_path``."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(BIN / "reunify"), *args],
            cwd=REPO,
            env=process_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
