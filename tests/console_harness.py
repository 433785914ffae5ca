"""The console served for real over HTTP (uvicorn on a free loopback port, in a thread) on a store
with published runs of a generated world, and logins as each role."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import uvicorn

from pipeline.run import run_embedded
from pipeline.settings import Settings, load_settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import generate_world, mutate_world
from pipeline.store import Store
from pipeline.store.access import AccessStore
from pipeline.web.accounts import add_user
from pipeline.web.app import create_app

SECRET = "test-console-secret-0123456789abcdef"
PASSWORDS = {"vera": "viewer-password-1", "carl": "caseworker-password-1", "ada": "admin-password-1"}
ROLES = {"vera": "viewer", "carl": "caseworker", "ada": "admin"}


@dataclass
class Published:
    """A store with two published runs of one world (the second after changes), and its settings."""

    settings: Settings
    store: Store
    first: str
    second: str

    def export(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The export objects of a run (default: the latest)."""
        return list(self.store.iter_results(run_id))


def publish_two_runs(database_url: str, tmp: Path, children: int = 120, seed: int = 23) -> Published:
    """Two runs of a world whose feeds carry hostile text in names (``hostile_names``), published."""
    world = generate_world(children, seed=seed)
    with FeedSimulator(
        world.to_payloads(), faults=FaultConfig(retry_after=0.05), hostile=["hostile_names"]
    ) as sim:
        env = sim.env() | {
            "REUNIFY_AS_OF": "2018-07-12",
            "REUNIFY_DATABASE_URL": database_url,
            "REUNIFY_WEB_SECRET": SECRET,
        }
        settings = load_settings(env, config_file=tmp / "none.toml")
        store = Store(database_url)
        first = run_embedded(settings, store, "test")
        later = mutate_world(world, 0.15, seed=4)
        sim.set_payloads(later.to_payloads())
        settings = load_settings(
            env | {"REUNIFY_AS_OF": later.as_of.isoformat()}, config_file=tmp / "none.toml"
        )
        second = run_embedded(settings, store, "test")
    access = AccessStore(store)
    for name, role in ROLES.items():
        add_user(access, name, role, PASSWORDS[name])
    return Published(settings, store, first, second)


def follow(page: Any, target: Any) -> None:
    """Click a link or submit button (a selector or a Locator) and wait for the page it opens to load.

    Playwright's click returns once the new page has started loading; a read that does not wait
    (``count()``, ``query_selector_all``) could then see a half-parsed table on a loaded machine.
    The wait is set before the click, so a quick page cannot load before it is watched for."""
    with page.expect_navigation(wait_until="load"):
        if isinstance(target, str):
            page.click(target)
        else:
            target.click()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_console(settings: Settings, store: Store) -> Iterator[str]:
    """The console on a free loopback port for the block; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, store), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def login(base: str, name: str, password: str | None = None) -> requests.Session:
    """A requests session logged in as ``name`` through the login form (its CSRF field included)."""
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10)
    done = http.post(
        f"{base}/login",
        data={"username": name, "password": password or PASSWORDS[name], "csrf_token": csrf_of(page.text)},
        timeout=10,
    )
    assert done.status_code == 200 and done.url.rstrip("/") == base, (done.status_code, done.url)
    return http
