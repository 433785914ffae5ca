"""Case work in a real headless Chromium (Playwright driving Debian's ``chromium``): a case worker
opens the parents-to-locate list, assigns a case, records two contact attempts and marks the
parent located; the case survives the next run, and a run in which the parent's records were
re-keyed upstream (the same person under new ids). A viewer gets 403 on every case route. The
court's case figures sum per cohort on the dashboard and in every renderer of the report; the
agencies' lists download as CSV and XLSX with the same rows. Screenshots go to ``out/console/``.
"""

from __future__ import annotations

import csv
import io
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from console_harness import PASSWORDS, ROLES, csrf_of, follow, login, serve_console
from openpyxl import load_workbook

from pipeline.ops.cases import FIGURE_BUCKETS, current_run
from pipeline.ops.escape import csv_cell
from pipeline.ops.report import build_report, render_html, render_markdown, render_text
from pipeline.ops.review import FIND_PARENT, review_queue
from pipeline.run import run_embedded
from pipeline.settings import Settings, load_settings
from pipeline.sim.processes import reunify
from pipeline.sim.reissue import reissue_ids
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import World, generate_world, mutate_world
from pipeline.store import Store
from pipeline.store.access import AccessStore
from pipeline.store.cases import CaseFilter, CaseStore
from pipeline.web.accounts import add_user

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (make install)"
)
SHOTS = Path(__file__).resolve().parents[2] / "out" / "console"


@dataclass
class Casework:
    """A world served by the simulator, a store with its first run published, the console."""

    world: World
    sim: FeedSimulator
    env: dict[str, str]
    tmp: Path
    store: Store
    base: str

    def settings(self, world: World) -> Settings:
        return load_settings(
            self.env | {"REUNIFY_AS_OF": world.as_of.isoformat()}, config_file=self.tmp / "none.toml"
        )

    def run(self, world: World) -> str:
        """Serve ``world`` and publish a run of it."""
        self.sim.set_payloads(world.to_payloads())
        return run_embedded(self.settings(world), self.store, "test")


@pytest.fixture(scope="module")
def casework(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Casework]:
    tmp = tmp_path_factory.mktemp("cases")
    url = f"sqlite:///{tmp / 'store.sqlite3'}"
    world = generate_world(100, seed=31)
    with FeedSimulator(world.to_payloads(), faults=FaultConfig(retry_after=0.05)) as sim:
        env = sim.env() | {
            "REUNIFY_DATABASE_URL": url,
            "REUNIFY_WEB_SECRET": "test-console-secret-0123456789abcdef",
        }
        store = Store(url)
        work = Casework(world, sim, env, tmp, store, "")
        work.run(world)
        access = AccessStore(store)
        for name, role in ROLES.items():
            add_user(access, name, role, PASSWORDS[name])
        with serve_console(work.settings(world), store) as base:
            work.base = base
            yield work


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("chromium is not installed (apt-get install -y chromium): no browser tests")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _open_as(browser: Any, base: str, name: str) -> Any:
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.goto(f"{base}/")
    page.fill("#username", name)
    page.fill("#password", PASSWORDS[name])
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def _a_parent_case(work: Casework) -> int:
    """A parent case whose parent the feeds name with an A-number (a person to re-key later)."""
    cs = CaseStore(work.store)
    run = work.store.latest_succeeded_run()
    assert run is not None and current_run(work.store, work.settings(work.world)) == run.id
    for case in cs.iter_list(run.id, CaseFilter(kind="parent")):
        member = cs.members([case.id])[case.id][0]
        result = work.store.find_result(member.child_key, run.id)
        if result and (result["parent"] or {}).get("a_number") and result["parent"]["ice_record_ids"]:
            return case.id
    raise AssertionError("the world has no parent to locate with an A-number")


def _attempt(page: Any, channel: str, language: str, outcome: str, wish: str, notes: str) -> None:
    page.select_option("#channel", channel)
    page.select_option("#language", language)
    page.select_option("#outcome", outcome)
    page.select_option("#wish", wish)
    page.fill("#notes", notes)
    page.fill("#next_action", "call the consulate again")
    page.fill("#next_action_due", "2018-07-20")
    follow(page, "#attempt-form button[type=submit]")


def test_a_caseworker_works_a_case_that_survives_the_next_runs(browser: Any, casework: Casework) -> None:
    case_id = _a_parent_case(casework)
    page = _open_as(browser, casework.base, "carl")
    follow(page, "nav >> text=Parents to locate")
    assert int(page.inner_text("#total")) > 0
    page.select_option("#kind", "parent")
    follow(page, "#filters button[type=submit]")
    _shot(page, "cases")
    assert _axe(page) == []
    while page.locator(f'tr[data-case="{case_id}"]').count() == 0:
        follow(page, "text=Next page")
    follow(page, f'tr[data-case="{case_id}"] td a')
    page.select_option("#assignee", "carl")
    follow(page, "#assign-form button[type=submit]")
    assert page.inner_text("#case-assignee") == "carl"
    _attempt(page, "phone", "spanish", "no_answer", "", "no answer at the detention number")
    _attempt(
        page, "consulate", "kiche", "reached", "reunify", "reached through the consulate in Quetzaltenango"
    )
    assert page.locator("#attempts tr[data-attempt]").count() == 2
    page.select_option("#state", "located")
    follow(page, "#state-form button[type=submit]")
    assert page.get_attribute("#case-state", "data-state") == "located"
    _shot(page, "case")
    assert _axe(page) == []

    # the next run: the world moved on (discharges, transfers, custody changes)
    later = mutate_world(casework.world, 0.1, seed=5)
    second = casework.run(later)
    page.reload()
    cs = CaseStore(casework.store)
    case = cs.get_case(case_id)
    assert case.seen_run_id == second and case.state == "located" and case.assignee == "carl"
    assert page.get_attribute("#case-state", "data-state") == "located"
    assert page.locator("#attempts tr[data-attempt]").count() == 2

    # ICE and the removal list re-keyed the parent: every record id of theirs changed upstream
    old_ids = [i.split(":", 1)[1] for i in cs.identities(case_id)]
    third = casework.run(reissue_ids(later, old_ids))
    page.reload()
    case = cs.get_case(case_id)
    assert case.seen_run_id == third and case.state == "located"
    now_ids = [i.split(":", 1)[1] for i in cs.identities(case_id)]
    assert now_ids and not set(now_ids) & set(old_ids) and all("-NEW" in i for i in now_ids)
    assert "same person under new record ids" in page.inner_text("#events")
    assert page.locator("#attempts tr[data-attempt]").count() == 2
    _shot(page, "case-after-rekey")

    # the child's page and `reunify show` carry the case work
    child = cs.members([case_id])[case_id][0].child_key
    page.goto(f"{casework.base}/children/{child}")
    assert f"Case #{case_id}" in page.inner_text("#cases-h + p")
    shown = reunify(["show", child], casework.env | {"REUNIFY_AS_OF": later.as_of.isoformat()})
    assert shown.returncode == 0, shown.stderr
    assert f"case #{case_id}" in shown.stdout and "K'iche'" in shown.stdout and "reached" in shown.stdout


def test_a_viewer_gets_403_on_every_case_route_and_sees_the_figures(browser: Any, casework: Casework) -> None:
    base = casework.base
    http = login(base, "vera")
    token = csrf_of(http.get(f"{base}/", timeout=10).text)
    for path in ("/cases", "/cases/1", "/api/cases", "/api/cases/1"):
        assert http.get(base + path, timeout=10).status_code == 403, path
    for path in (
        "/cases/1/assign",
        "/cases/1/state",
        "/cases/1/attempts",
        "/cases/1/seen",
        "/cases/lists/court-table",
    ):
        assert http.post(base + path, data={"csrf_token": token}, timeout=10).status_code == 403, path
    page = _open_as(browser, base, "vera")
    assert page.locator("nav >> text=Parents to locate").count() == 0
    assert page.locator("#case-figures").count() == 1  # aggregates: a viewer's
    assert page.goto(f"{base}/cases").status == 403
    _shot(page, "cases-viewer-403")


def test_the_case_figures_sum_per_cohort_on_the_dashboard_and_in_the_report(
    browser: Any, casework: Casework
) -> None:
    page = _open_as(browser, casework.base, "carl")
    rows = page.query_selector_all("#case-figures tbody tr")
    assert [r.get_attribute("data-case-cohort") for r in rows][-1] == "total"
    buckets = list(FIGURE_BUCKETS)
    for row in rows:
        cell = {
            c.get_attribute("data-case-figure"): int(c.inner_text()) for c in row.query_selector_all("td")
        }
        assert (
            sum(cell[b] for b in buckets)
            == cell["cases"]
            == cell["parents_to_locate"] + cell["parents_to_find"]
        )
    assert page.locator("#case-check.ok").count() == 1  # class case-check ok
    _shot(page, "dashboard-cases")
    store = casework.store
    run = store.latest_succeeded_run()
    assert run is not None
    report = build_report(store, casework.settings(casework.world))
    assert report.cases is not None and report.cases.checks()
    for c in report.cases.cohorts:
        assert sum(c.buckets.values()) == c.cases
    assert sum(c.cases for c in report.cases.cohorts) == report.cases.total.cases > 0
    assert 'id="case-check" class="check ok"' in render_html(report)
    assert "case check OK" in render_text(report) and "case check OK" in render_markdown(report)


def _csv_rows(body: bytes) -> list[list[Any]]:
    return [row for row in csv.reader(io.StringIO(body.decode("utf-8")), quoting=csv.QUOTE_NONNUMERIC)]


def _same_rows(csv_body: bytes, xlsx_body: bytes) -> int:
    sheet = load_workbook(io.BytesIO(xlsx_body), read_only=True).active
    assert sheet is not None
    from_xlsx = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    from_csv = _csv_rows(csv_body)
    assert len(from_csv) == len(from_xlsx)
    for a, b in zip(from_csv, from_xlsx, strict=True):
        # the CSV's text cells are neutralised for spreadsheets; the XLSX types them as text
        assert a == [csv_cell(v) if isinstance(v, str) else float(v) for v in b]
    return len(from_csv) - 1


def test_the_agencies_lists_download_as_csv_and_xlsx_with_the_same_rows(casework: Casework) -> None:
    base = casework.base
    http: requests.Session = login(base, "carl")
    token = csrf_of(http.get(f"{base}/cases", timeout=10).text)
    counts = {}
    csv_of = {}
    for name in ("parents-to-locate", "children-per-facility", "court-table"):
        bodies = {}
        for fmt in ("csv", "xlsx"):
            r = http.post(f"{base}/cases/lists/{name}", data={"csrf_token": token, "format": fmt}, timeout=60)
            assert r.status_code == 200, (name, fmt, r.text[:200])
            bodies[fmt] = r.content
        counts[name] = _same_rows(bodies["csv"], bodies["xlsx"])
        csv_of[name] = bodies["csv"]
    assert counts["children-per-facility"] == len(list(casework.store.iter_results()))
    assert counts["parents-to-locate"] > 0
    refused = http.post(f"{base}/cases/lists/court-table", data={"format": "csv"}, timeout=10)
    assert refused.status_code == 403  # no CSRF token
    entries = AccessStore(casework.store).list_audit(username="carl", limit=50)
    assert sum(1 for e in entries if e.action == "download_list") == 6
    # the same from the shell, on the audit trail too
    out = casework.tmp / "court.xlsx"
    done = reunify(["export", "--list", "court-table", "--format", "xlsx", "--out", str(out)], casework.env)
    assert done.returncode == 0, done.stderr
    assert _same_rows(csv_of["court-table"], out.read_bytes()) == counts["court-table"]
    assert any(e.username.startswith("shell:") for e in AccessStore(casework.store).list_audit(limit=10))


def _ended(store: Store, run_id: str) -> Any:
    for _ in range(600):
        run = store.get_run(run_id)
        if run is not None and run.status != "running":
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end")


def test_a_caseworker_confirms_the_real_parent_and_re_reconciles_and_an_admin_runs_again(
    browser: Any, casework: Casework
) -> None:
    # last in the module: it publishes runs of its own
    store = casework.store
    run = store.latest_succeeded_run()
    assert run is not None
    queue = review_queue(store, run.id)
    item = next(i for i in queue if i.kind == FIND_PARENT and store.list_candidates(run.id, i.child_key))
    runner_up = store.list_candidates(run.id, item.child_key)[0]
    adult = (runner_up["ice_record_ids"] or runner_up["removal_record_ids"])[0]

    page = _open_as(browser, casework.base, "carl")
    follow(page, "nav >> text=Review")
    assert int(page.inner_text("#total")) == len(queue)
    _shot(page, "review")
    assert _axe(page) == []
    follow(page, f'tr[data-child="{item.child_key}"] td a')
    assert page.get_attribute("#status", "data-status") == "not_a_parent"
    assert "find the real parent" in page.inner_text("main")
    assert page.locator("article.candidate").count() == page.locator("figure svg.waterfall").count() + 1 >= 3
    _shot(page, "review-case")
    assert _axe(page) == []
    card = page.locator(f'article[data-adult="{adult}"]')
    card.locator("textarea").fill("the mother's birth certificate names this parent")
    follow(page, card.locator('button[value="confirm"]'))
    assert "Decision recorded: confirmed" in page.inner_text("#notice")
    assert "confirm" in page.inner_text("#decisions") and "carl" in page.inner_text("#decisions")

    follow(page, "nav >> text=Review")
    follow(page, "#rerun")
    assert "started (review)" in page.inner_text("main")
    latest = store.list_runs(limit=1)[0]
    assert latest.trigger == "review" and _ended(store, latest.id).outcome == "succeeded"
    page.goto(f"{casework.base}/children/{item.child_key}")
    assert page.get_attribute("[data-status]", "data-status") != "not_a_parent"
    assert adult in page.inner_text("main")
    page.goto(f"{casework.base}/review?tab=confirmed")
    assert page.locator(f'tr[data-child="{item.child_key}"]').count() == 1
    _shot(page, "review-confirmed")

    admin = _open_as(browser, casework.base, "ada")
    follow(admin, "nav >> text=Runs")
    assert admin.locator("#run-actions").count() == 1
    _shot(admin, "runs-admin")
    assert _axe(admin) == []
    follow(admin, "#start-run button[type=submit]")
    assert "started (console)" in admin.inner_text("#notice")
    started = store.list_runs(limit=1)[0]
    assert started.trigger == "console" and _ended(store, started.id).outcome == "succeeded"
