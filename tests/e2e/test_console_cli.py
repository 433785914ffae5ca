"""The console's commands as an operator runs them: ``reunify users`` (password on stdin),
``reunify web`` (refuses without REUNIFY_WEB_SECRET, then serves the contract's routes) and
``reunify audit``."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from console_harness import csrf_of

from pipeline.sim.processes import BIN, REPO, process_env, reunify

SECRET = "cli-console-secret-0123456789"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'console.sqlite3'}",
        "REUNIFY_AS_OF": "2018-07-12",
    } | extra


def _reunify(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return reunify(args, env, timeout=60, stdin=stdin)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = _env(tmp_path, REUNIFY_WEB_SECRET=SECRET)
    port = _port()
    log = (tmp_path / "web.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "reunify"), "web", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=process_env(env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "web.log").read_text()
            time.sleep(0.1)
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_web_refuses_to_start_without_its_secret(tmp_path: Path) -> None:
    done = _reunify(["web", "--port", str(_port())], _env(tmp_path))
    assert done.returncode == 1
    assert "REUNIFY_WEB_SECRET" in done.stderr and "Traceback" not in done.stderr


def test_users_take_the_password_from_stdin_and_never_show_it(tmp_path: Path) -> None:
    env = _env(tmp_path)
    added = _reunify(["users", "add", "ana", "--role", "caseworker"], env, "a-long-password-1\n")
    assert added.returncode == 0, added.stderr
    assert "a-long-password-1" not in added.stdout + added.stderr
    assert _reunify(["users", "add", "ana", "--role", "viewer"], env, "another-password-1\n").returncode == 1
    short = _reunify(["users", "add", "bo", "--role", "viewer"], env, "short\n")
    assert short.returncode == 1 and "12 characters" in short.stderr
    assert _reunify(["users", "set-role", "ana", "admin"], env).returncode == 0
    last_admin = _reunify(["users", "disable", "ana"], env)
    assert last_admin.returncode == 1 and "last active admin" in last_admin.stderr
    listed = json.loads(_reunify(["users", "list", "--json"], env).stdout)
    assert listed == [
        {"name": "ana", "role": "admin", "disabled": False, "created_at": listed[0]["created_at"]}
    ]
    assert _reunify(["users", "reset-password", "ana"], env, "a-new-password-12\n").returncode == 0
    bad_role = _reunify(["users", "add", "cy", "--role", "root"], env, "a-long-password-1\n")
    assert bad_role.returncode == 2


def test_reunify_web_serves_the_login_and_the_contract_routes(web: tuple[str, dict[str, str]]) -> None:
    base, env = web
    assert _reunify(["users", "add", "ada", "--role", "admin"], env, "admin-password-12\n").returncode == 0
    assert requests.get(f"{base}/api/summary", timeout=5).status_code == 401
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=5)
    done = http.post(
        f"{base}/login",
        data={"username": "ada", "password": "admin-password-12", "csrf_token": csrf_of(page.text)},
        timeout=5,
    )
    assert done.status_code == 200
    # nothing published yet: the summary says so instead of failing
    assert http.get(f"{base}/api/summary", timeout=5).status_code == 409
    assert http.get(f"{base}/api/audit", timeout=5).status_code == 200
    audit = _reunify(["audit", "--format", "jsonl", "--user", "ada"], env)
    assert audit.returncode == 0
    lines = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [e["action"] for e in lines] == ["login"] and lines[0]["who"] == "ada"
    assert "admin-password-12" not in audit.stdout
