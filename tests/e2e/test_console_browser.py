"""The console in a real headless Chromium (Playwright driving Debian's ``chromium``): logins, the
dashboard against the export, the children table, a child's waterfall, two runs compared, what a
viewer sees, hostile names shown inert, the audit trail, the live panel, and axe-core's
accessibility check. Screenshots of each page go to ``out/console/``."""

from __future__ import annotations

import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_harness import PASSWORDS, Published, follow, publish_two_runs, serve_console

from pipeline.ops.escape import term_text
from pipeline.ops.report import compare_runs
from pipeline.results import STATUS_WORDS
from pipeline.run import run_embedded
from pipeline.settings import load_settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import generate_world
from pipeline.store.history import child_key

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (make install)"
)
SHOTS = Path(__file__).resolve().parents[2] / "out" / "console"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip(
            "chromium is not installed (apt-get install -y chromium; .ci/run does it): no browser tests"
        )
    return found


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    tmp = tmp_path_factory.mktemp("browser")
    return publish_two_runs(f"sqlite:///{tmp / 'store.sqlite3'}", tmp)


@pytest.fixture(scope="module")
def base(published: Published) -> Iterator[str]:
    with serve_console(published.settings, published.store) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = _chromium()
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def as_user(browser: Any, base: str) -> Iterator[Any]:
    """Open a page logged in as a user (through the login form); dialogs are recorded, not run."""
    contexts = []

    def open_as(name: str) -> Any:
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/")
        assert "/login" in page.url
        page.fill("#username", name)
        page.fill("#password", PASSWORDS[name])
        page.click("form.login button[type=submit]")
        page.wait_for_url(f"{base}/")
        return page

    yield open_as
    for c in contexts:
        c.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it ran, on this page
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_the_dashboard_shows_the_exports_figures(as_user: Any, published: Published) -> None:
    rows = published.export()
    page = as_user("carl")
    figure = {
        el.get_attribute("data-figure"): int(el.inner_text())
        for el in page.query_selector_all("[data-figure]")
    }
    statuses = Counter(r["status"] for r in rows)
    assert figure["children"] == len(rows)
    assert figure["reunified"] == statuses["reunified"]
    assert figure["eligible"] == statuses["eligible"]
    assert figure["unresolved_locations"] == sum(not r["parent_location"]["resolved"] for r in rows)
    assert figure["needs_review"] == sum(bool(r["needs_review"]) for r in rows)
    cells = {
        el.get_attribute("data-cell"): int(el.inner_text()) for el in page.query_selector_all("[data-cell]")
    }
    want = Counter(f"{r['cohort']}:{r['status']}" for r in rows)
    assert {k: v for k, v in cells.items() if v} == dict(want)
    blocked = {
        el.get_attribute("data-blocked"): int(el.inner_text())
        for el in page.query_selector_all("[data-blocked]")
    }
    assert blocked["parent_removed"] == statuses["parent_removed"]
    assert page.locator(".check.ok").count() == 1
    _shot(page, "dashboard")
    assert _axe(page) == []


def test_filter_and_search_the_children(as_user: Any, published: Published) -> None:
    rows = published.export()
    page = as_user("carl")
    follow(page, "nav >> text=Children")
    assert int(page.inner_text("#total")) == len(rows)
    page.select_option("#status", "parent_removed")
    follow(page, "#filters button[type=submit]")
    want = sorted(child_key(r) for r in rows if r["status"] == "parent_removed")
    shown = sorted(
        el.get_attribute("data-child") for el in page.query_selector_all("#children tbody tr[data-child]")
    )
    assert shown == want and int(page.inner_text("#total")) == len(want)
    assert "status=" not in page.url  # the form posts: nothing typed travels in the URL
    target = next(r for r in rows if r.get("name") and re.fullmatch(r"[\w\s]+", r["name"]))
    page.select_option("#status", "")
    page.fill("#q", target["name"].split()[-1].lower())
    follow(page, "#filters button[type=submit]")
    assert page.locator(f'#children tr[data-child="{child_key(target)}"]').count() == 1
    assert target["name"].split()[-1].lower() not in page.url.lower()
    _shot(page, "children")
    assert _axe(page) == []


def test_a_child_shows_its_story_and_the_waterfall_of_weights(as_user: Any, published: Published) -> None:
    row = next(
        r for r in published.export() if r.get("parent") and len(r["parent"].get("evidence") or []) >= 2
    )
    page = as_user("carl")
    page.goto(page.url + f"children/{child_key(row)}")
    assert page.locator("svg.waterfall").count() == 1
    bars = page.query_selector_all("svg.waterfall rect.bar")
    weighted = [e for e in row["parent"]["evidence"] if re.search(r"\([+-]\d", e)]
    assert len(bars) == len(weighted) + 2  # each weighted comparison, the rest, the posterior
    assert page.locator(".candidate h3").first.inner_text().startswith("linked parent")
    assert page.inner_text("[data-status]") == STATUS_WORDS[row["status"]]
    _shot(page, "child")
    assert _axe(page) == []


def test_two_runs_compared(as_user: Any, published: Published) -> None:
    page = as_user("carl")
    follow(page, "nav >> text=Runs")
    page.select_option("#a", published.first)
    page.select_option("#b", published.second)
    follow(page, "form.filters button[type=submit]")
    changes = compare_runs(
        published.store.iter_history(run_id=published.first),
        published.store.iter_history(run_id=published.second),
    )
    shown = {
        el.get_attribute("data-change"): int(el.inner_text())
        for el in page.query_selector_all("[data-change]")
    }
    assert shown == {title: len(items) for title, items in changes.sections()}
    assert shown["status changed"] > 0
    _shot(page, "compare")


def test_a_viewer_sees_no_name_anywhere_and_no_personal_page(
    as_user: Any, published: Published, base: str
) -> None:
    names = {r["name"] for r in published.export() if r.get("name")}
    page = as_user("vera")
    assert page.locator("nav >> text=Children").count() == 0
    for path in ("/", "/runs", f"/runs/{published.second}", "/report"):
        page.goto(base + path)
        text = page.inner_text("body")
        assert not [n for n in names if n in text], path
        _shot(page, "viewer" + (path.replace("/", "-").rstrip("-") or "-dashboard")[:24])
    response = page.goto(f"{base}/children/{child_key(published.export()[0])}")
    assert response.status == 403
    api = page.request.get(f"{base}/api/children/{child_key(published.export()[0])}")
    assert api.status == 403


def test_a_name_carrying_script_is_shown_inert(as_user: Any, published: Published) -> None:
    rows = published.export()
    hostile = [r for r in rows if "<script>" in (r.get("name") or "") or "<img" in (r.get("name") or "")]
    assert hostile, "the hostile_names world should plant HTML in some names"
    page = as_user("carl")
    page.goto(page.url + f"children/{child_key(hostile[0])}")
    shown = page.inner_text("#child-name")
    assert shown == term_text(hostile[0]["name"]) and ("<script>" in shown or "<img" in shown)
    page.goto(page.url.split("/children/")[0] + "/children")
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.locator("main script, main img").count() == 0
    _shot(page, "hostile-child")


def test_every_personal_data_read_is_in_the_audit_trail(as_user: Any, published: Published) -> None:
    row = published.export()[5]
    carl = as_user("carl")
    carl.goto(carl.url + f"children/{child_key(row)}")
    ada = as_user("ada")
    follow(ada, "nav >> text=Audit trail")
    entries = [tr.inner_text() for tr in ada.query_selector_all("#audit tbody tr")]
    assert any("carl" in e and "view_child" in e and child_key(row) in e for e in entries)
    assert not [e for e in entries if row["name"] in e]
    _shot(ada, "audit")


def test_an_admin_adds_and_disables_a_user_in_the_browser(as_user: Any, published: Published) -> None:
    ada = as_user("ada")
    follow(ada, "nav >> text=Users")
    ada.fill("#new-name", "gus")
    ada.select_option("#new-role", "caseworker")
    ada.fill("#new-password", "gus-password-01")
    follow(ada, "#add-user button[type=submit]")
    assert "added gus (caseworker)" in ada.inner_text(".notice")
    row = ada.locator('tr[data-user="gus"]')
    assert row.locator(".state").inner_text() == "active"
    follow(ada, row.locator("button", has_text="Disable"))
    assert "gus disabled" in ada.inner_text(".notice")
    assert ada.locator('tr[data-user="gus"] .state').inner_text() == "disabled"
    _shot(ada, "users")
    assert _axe(ada) == []
    assert not as_user("carl").locator("nav >> text=Users").count()


def test_the_live_panel_follows_a_run_in_progress(as_user: Any, published: Published) -> None:
    page = as_user("ada")
    page.wait_for_selector('#live[data-state="idle"]', timeout=10_000)  # the script ran under the CSP
    world = generate_world(60, seed=5)
    with FeedSimulator(world.to_payloads(), faults=FaultConfig(latency=0.4)) as sim:
        env = sim.env() | {
            "REUNIFY_AS_OF": "2018-07-14",
            "REUNIFY_DATABASE_URL": published.settings.database_url,
            "REUNIFY_ORR_PAGE_SIZE": "5",
            "REUNIFY_MAX_FEED_DROP": "1",
        }
        settings = load_settings(env, config_file=Path("/nonexistent/none.toml"))
        errors: list[BaseException] = []

        def run() -> None:
            try:
                run_embedded(settings, published.store, "test")
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        page.wait_for_selector('#live[data-state="running"]', timeout=20_000)
        assert "in progress" in page.inner_text("#live")
        _shot(page, "dashboard-live")
        thread.join(timeout=120)
    page.wait_for_selector('#live[data-state="idle"]', timeout=10_000)
    assert not thread.is_alive()
