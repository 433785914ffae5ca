"""The console command's process ends without the interpreter's teardown only when nothing is
left at work: its output flushed, and never while a non-daemon thread runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import atexit, logging, sys, threading
from entrypoints.cli import exit_without_teardown
atexit.register(lambda: print("teardown ran", flush=True))
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
worker = threading.Event()
if {busy}:
    threading.Thread(target=worker.wait, args=(0.5,)).start()
sys.stdout.write("summary written")  # buffered: the pipe is not a terminal
logging.getLogger("t").info("logged")
exit_without_teardown(3)
print(" returned", end="")
sys.exit(4)
"""


def _run(busy: bool) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(SCRIPT.format(busy=busy))
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


def test_an_idle_process_exits_at_once_with_its_output_flushed() -> None:
    done = _run(busy=False)
    assert done.returncode == 3
    assert done.stdout == "summary written"  # flushed, and no atexit teardown
    assert "logged" in done.stderr


def test_a_process_with_a_thread_at_work_exits_the_ordinary_way() -> None:
    done = _run(busy=True)
    assert done.returncode == 4
    assert done.stdout == "summary written returnedteardown ran\n"
