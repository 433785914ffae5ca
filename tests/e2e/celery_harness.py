"""Real Celery workers for end-to-end tests: processes on the local Redis, never eager mode."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import redis

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


def process_env(env: Mapping[str, str]) -> dict[str, str]:
    """The test's REUNIFY_* settings on top of this environment, minus any stray REUNIFY_*."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("REUNIFY_")}
    base["PYTHONUNBUFFERED"] = "1"
    return base | dict(env)


@contextmanager
def celery_worker(
    env: Mapping[str, str], log_path: Path, name: str = "w1", concurrency: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``celery -A workers worker`` process; waits until it answers a ping."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "workers",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=process_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(proc, log_path)
            yield proc
        finally:
            stop(proc)


def wait_ready(proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60) -> None:
    """Block until the worker logs that it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        if b"ready." in log_path.read_bytes():
            return
        time.sleep(0.2)
    raise RuntimeError(f"worker not ready after {timeout} s: {log_path.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a worker and all its pool processes."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def reunify(
    args: list[str], env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the ``reunify`` command as a user would."""
    return subprocess.run(
        [str(BIN / "reunify"), *args],
        cwd=REPO,
        env=process_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
