"""Local processes for the tests and the bench (dev tool): the ``reunify`` command, and ``celery -A
workers worker`` started as an operator would, with the given REUNIFY_* settings, and stopped with
its pool processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def process_env(env: Mapping[str, str]) -> dict[str, str]:
    """The test's REUNIFY_* settings on top of this environment, minus any stray REUNIFY_*."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("REUNIFY_")}
    base["PYTHONUNBUFFERED"] = "1"
    return base | dict(env)


def reunify(
    args: list[str], env: Mapping[str, str], timeout: float = 300, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``reunify`` command as an operator would, with these REUNIFY_* settings (and
    ``stdin`` as its standard input); its output."""
    return subprocess.run(
        [str(BIN / "reunify"), *args],
        cwd=REPO,
        env=process_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def celery_worker(
    env: Mapping[str, str], log_path: Path, name: str = "w1", concurrency: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``celery -A workers worker`` process; waits until it answers a ping."""
    proc = spawn(worker_command(name, concurrency), env, log_path)
    try:
        wait_ready(proc, log_path)
        yield proc
    finally:
        stop(proc)


def worker_command(name: str = "w1", concurrency: int = 2) -> list[str]:
    """The command line of a worker named ``name`` (``-n name@%h``: its own name in Flower)."""
    return [
        str(BIN / "celery"),
        "-A",
        "workers",
        "--quiet",  # no banner on stdout: the log is one JSON stream
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
    ]


def spawn(command: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group with these REUNIFY_* settings, output to ``log_path``."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=process_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(
    proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60, marker: bytes = b"ready."
) -> None:
    """Block until the process logs ``marker`` (a worker says ``ready.``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        if marker in log_path.read_bytes():
            return
        time.sleep(0.1)
    raise RuntimeError(f"process not ready after {timeout} s: {log_path.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a worker and all its pool processes."""
    stop_all([proc], sig)


def stop_all(procs: list[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop processes (each with its process group) at once: signal all, then wait for each (a
    group still alive after ``timeout`` seconds is killed)."""
    alive = [proc for proc in procs if proc.poll() is None]
    for proc in alive:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    deadline = time.monotonic() + timeout
    for proc in alive:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
