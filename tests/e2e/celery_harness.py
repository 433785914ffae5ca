"""Real Celery workers for end-to-end tests: processes on the local Redis, never eager mode."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import redis

# the worker processes themselves are shared with the bench
from pipeline.sim.processes import celery_worker as celery_worker
from pipeline.sim.processes import process_env as process_env
from pipeline.sim.processes import reunify as reunify
from pipeline.sim.processes import spawn, stop, stop_all, wait_ready, worker_command

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


@dataclass
class Cluster:
    """Processes of a deployment started together: workers, beat, Flower (its base URL)."""

    workers: list[subprocess.Popen[bytes]]
    beat: subprocess.Popen[bytes] | None
    flower_url: str | None


@contextmanager
def cluster(
    env: Mapping[str, str],
    logs: Path,
    workers: tuple[str, ...] = ("w1", "w2"),
    concurrency: int = 1,
    beat: bool = True,
    flower_auth: tuple[str, str] | None = None,
) -> Iterator[Cluster]:
    """Workers (``<name>.log``), beat (``beat.log``) and Flower with basic auth (``flower.log``),
    started at once and waited for together, stopped together: a second each, not one after
    the other."""
    started: list[subprocess.Popen[bytes]] = []
    waits: list[tuple[subprocess.Popen[bytes], Path, bytes]] = []

    def start(
        command: list[str], extra: Mapping[str, str], log: Path, marker: bytes
    ) -> subprocess.Popen[bytes]:
        proc = spawn(command, dict(env) | dict(extra), log)
        started.append(proc)
        if marker:
            waits.append((proc, log, marker))
        return proc

    celery = [str(BIN / "celery"), "-A", "workers"]
    try:
        procs = [start(worker_command(n, concurrency), {}, logs / f"{n}.log", b"ready.") for n in workers]
        beat_proc = None
        if beat:
            schedule = f"--schedule={logs / 'beat.schedule'}"
            beat_proc = start(
                [*celery, "beat", "--loglevel=INFO", schedule], {}, logs / "beat.log", b"beat: Starting"
            )
        url = None
        if flower_auth is not None:
            port = free_port()
            creds = {"REUNIFY_FLOWER_USER": flower_auth[0], "REUNIFY_FLOWER_PASSWORD": flower_auth[1]}
            command = [*celery, "flower", "--address=127.0.0.1", f"--port={port}"]
            flower_proc = start(command, creds, logs / "flower.log", b"")
            url = f"http://127.0.0.1:{port}/"
        for proc, log, marker in waits:
            wait_ready(proc, log, marker=marker)
        if flower_auth is not None and url is not None:
            base, auth = url, flower_auth
            wait_for(
                lambda: flower_json(base + "api/workers", auth) is not None or flower_proc.poll() is not None,
                60,
                "Flower to answer",
            )
            if flower_proc.poll() is not None:
                raise RuntimeError(f"Flower exited: {(logs / 'flower.log').read_text()[-2000:]}")
        yield Cluster(procs, beat_proc, url)
    finally:
        stop_all(started)


def flower_json(url: str, auth: tuple[str, str]) -> Any:
    """GET a Flower API URL with basic auth; its JSON, or None while Flower does not answer."""
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
