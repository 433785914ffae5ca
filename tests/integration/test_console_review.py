"""The review queue, the quality sample and the run actions of the console over real HTTP
(uvicorn) on SQLite and PostgreSQL: roles (viewer 403, admin-only run actions), CSRF on every
POST, the CLI's decision records written with who, when and why, a re-reconcile that publishes a
run with the trigger ``review`` honouring them, verdicts giving the dashboard's estimate, and an
admin starting, cancelling and accepting a gated drop; each on the audit trail."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from console_harness import PASSWORDS, ROLES, SECRET, csrf_of, login, serve_console
from sqlalchemy.engine import make_url

from pipeline import run as stages
from pipeline.ops.cases import cohort_order
from pipeline.settings import Settings, load_settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import World, generate_world
from pipeline.store import RunInfo, Store
from pipeline.store.access import AccessStore
from pipeline.store.history import child_key
from pipeline.web.accounts import add_user


@dataclass
class Console:
    world: World
    sim: FeedSimulator
    settings: Settings
    store: Store
    base: str
    first: str


def _serve(url: str, tmp: Path) -> Iterator[Console]:
    world = generate_world(90, seed=41)
    with FeedSimulator(world.to_payloads(), faults=FaultConfig(retry_after=0.05)) as sim:
        env = sim.env() | {
            "REUNIFY_AS_OF": world.as_of.isoformat(),
            "REUNIFY_DATABASE_URL": url,
            "REUNIFY_WEB_SECRET": SECRET,
            "REUNIFY_QUALITY_SAMPLE_SHARE": "0.1",
        }
        settings = load_settings(env, config_file=tmp / "none.toml")
        store = Store(url)
        first = stages.run_embedded(settings, store, "test")
        access = AccessStore(store)
        for name, role in ROLES.items():
            add_user(access, name, role, PASSWORDS[name])
        with serve_console(settings, store) as base:
            yield Console(world, sim, settings, store, base, first)
        store.close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("review")
    if request.param == "sqlite":
        yield from _serve(f"sqlite:///{tmp / 'store.sqlite3'}", tmp)
        return
    pg_admin_engine: sa.Engine = request.getfixturevalue("pg_admin_engine")
    name = f"reunify_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(str(pg_admin_engine.url)).set(database=name).render_as_string(hide_password=False)
    try:
        yield from _serve(url, tmp)
    finally:
        with pg_admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _ended(store: Store, run_id: str, seconds: float = 60) -> RunInfo:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        run = store.get_run(run_id)
        if run is not None and run.status != "running":
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end")


def _latest(store: Store) -> RunInfo:
    run = store.list_runs(limit=1)[0]
    return _ended(store, run.id)


def _token(http: requests.Session, base: str, path: str = "/review") -> str:
    return csrf_of(http.get(f"{base}{path}", timeout=10).text)


def _actions(c: Console, name: str) -> list[str]:
    return [e.action for e in AccessStore(c.store).list_audit(username=name, limit=500)]


def test_a_viewer_gets_403_on_every_review_route(console: Console) -> None:
    http = login(console.base, "vera")
    rid = next(iter(console.store.iter_results()))["child_record_ids"][0]
    for path in ("/review", "/review/check", f"/review/{rid}", "/api/review"):
        assert http.get(f"{console.base}{path}", timeout=10).status_code == 403, path
    token = csrf_of(http.get(f"{console.base}/", timeout=10).text)
    for path in (f"/review/{rid}/decide", "/review/rerun", f"/review/check/{rid}", "/runs/start"):
        r = http.post(f"{console.base}{path}", data={"csrf_token": token}, timeout=10, allow_redirects=False)
        assert r.status_code == 403, path
    assert http.get(f"{console.base}/api/quality", timeout=10).status_code == 200  # aggregates only


def test_a_caseworker_may_not_start_or_cancel_runs(console: Console) -> None:
    http = login(console.base, "carl")
    token = _token(http, console.base)
    for path in ("/runs/start", f"/runs/{console.first}/cancel", f"/runs/{console.first}/accept"):
        r = http.post(f"{console.base}{path}", data={"csrf_token": token, "mode": "full"}, timeout=10)
        assert r.status_code == 403, path
    assert "run-actions" not in http.get(f"{console.base}/runs", timeout=10).text


def test_the_queue_is_pending_links_by_cohort_deadline_without_ended_children(console: Console) -> None:
    http = login(console.base, "carl")
    got = http.get(f"{console.base}/api/review", params={"limit": 500}, timeout=10).json()
    assert got["total"] == len(got["items"]) > 0
    assert all(i["state"] == "pending" and i["why"] for i in got["items"])
    assert not {i["status"] for i in got["items"]} & {"reunified", "discharged_other"}
    order = cohort_order(console.settings, console.settings.as_of)
    ranks = [order.index(i["cohort"]) for i in got["items"]]
    assert ranks == sorted(ranks)
    page = http.get(f"{console.base}/review", timeout=10)
    assert page.status_code == 200 and got["items"][0]["child_key"] in page.text
    assert "review_queue" in _actions(console, "carl")


def test_the_dashboards_queue_figure_is_the_pending_tabs_count(console: Console) -> None:
    http = login(console.base, "carl")
    total = http.get(f"{console.base}/api/review", params={"limit": 1}, timeout=10).json()["total"]
    page = http.get(f"{console.base}/", timeout=10).text
    shown = re.search(r'data-figure="review_queue"><a href="/review">(\d+)</a>', page)
    assert shown is not None and int(shown.group(1)) == total > 0
    flagged = re.search(r'data-figure="needs_review">(\d+)<', page)
    assert flagged is not None  # the matcher's flags: one of the queue's reasons, shown on their own


def _pending_with_parent(http: requests.Session, base: str) -> dict[str, object]:
    items = http.get(f"{base}/api/review", params={"limit": 500}, timeout=10).json()["items"]
    return next(
        i for i in items if i["parent"] and i["parent"]["ice_record_ids"] and i["status"] != "not_a_parent"
    )


def test_a_decision_needs_the_csrf_token_and_is_the_clis_record_with_who_when_why(console: Console) -> None:
    http = login(console.base, "carl")
    item = _pending_with_parent(http, console.base)
    key = str(item["child_key"])
    adult = item["parent"]["ice_record_ids"][0]  # type: ignore[index]
    page = http.get(f"{console.base}/review/{key}", timeout=10)
    assert page.status_code == 200 and adult in page.text and 'class="waterfall"' in page.text
    form = {"adult": adult, "decision": "reject", "why": "the adult names another child"}
    refused = http.post(f"{console.base}/review/{key}/decide", data=form, timeout=10)
    assert refused.status_code == 403
    assert [d for d in console.store.list_decisions(key)] == []
    done = http.post(
        f"{console.base}/review/{key}/decide", data=form | {"csrf_token": csrf_of(page.text)}, timeout=10
    )
    assert done.status_code == 200 and "Decision recorded" in done.text
    [d] = console.store.list_decisions(key)
    assert (d.decision, d.adult_key, d.who, d.why) == (
        "reject",
        adult,
        "carl",
        "the adult names another child",
    )
    rejected = http.get(f"{console.base}/api/review", params={"state": "rejected"}, timeout=10).json()
    assert key in [i["child_key"] for i in rejected["items"]]
    no_reason = http.post(
        f"{console.base}/review/{key}/decide",
        data=form | {"why": " ", "csrf_token": csrf_of(page.text)},
        timeout=10,
    )
    assert no_reason.status_code == 400 and len(console.store.list_decisions(key)) == 1
    assert {"review_case", "review_decision"} <= set(_actions(console, "carl"))


def test_re_reconcile_publishes_a_review_run_that_honours_the_decisions(console: Console) -> None:
    http = login(console.base, "carl")
    items = http.get(f"{console.base}/api/review", params={"limit": 500}, timeout=10).json()["items"]
    run = _latest(console.store)
    found = [i for i in items if i["kind"] == "find the real parent"]
    item = next(i for i in found if console.store.list_candidates(run.id, i["child_key"]))
    key = str(item["child_key"])
    runner_up = console.store.list_candidates(run.id, key)[0]
    adult = (runner_up["ice_record_ids"] or runner_up["removal_record_ids"])[0]
    page = http.get(f"{console.base}/review/{key}", timeout=10).text
    assert "find the real parent" in page and f'data-adult="{adult}"' in page
    r = http.post(
        f"{console.base}/api/review/{key}/decisions",
        json={"adult": adult, "decision": "confirm", "why": "birth certificate seen"},
        headers={"X-CSRF-Token": csrf_of(page)},
        timeout=10,
    )
    assert r.status_code == 201 and r.json()["who"] == "carl"
    sent = http.post(f"{console.base}/review/rerun", data={"csrf_token": csrf_of(page)}, timeout=30)
    assert sent.status_code == 200 and "started (review)" in sent.text
    after = _latest(console.store)
    assert (after.trigger, after.outcome) == ("review", "succeeded") and after.id != run.id
    result = next(r for r in console.store.iter_results(after.id) if child_key(r) == key)
    ids = result["parent"]["ice_record_ids"] + result["parent"]["removal_record_ids"]
    assert adult in ids and result["parent"]["match_score"] == 1.0 and result["status"] != "not_a_parent"
    assert result["parent"]["evidence"][0].startswith("confirmed by reviewer carl")
    confirmed = http.get(f"{console.base}/api/review", params={"state": "confirmed"}, timeout=10).json()
    assert key in [i["child_key"] for i in confirmed["items"]]
    assert "run_rerun" in _actions(console, "carl")


def test_verdicts_on_the_quality_sample_give_the_dashboards_estimate(console: Console) -> None:
    http = login(console.base, "carl")
    run = _latest(console.store)
    sample = console.store.quality_sample(run.id)
    assert sample, "the published run must have drawn a sample"
    page = http.get(f"{console.base}/review/check", timeout=10)
    assert page.status_code == 200 and sample[0].child_key in page.text
    token = csrf_of(page.text)
    assert (
        http.post(
            f"{console.base}/review/check/{sample[0].child_key}", data={"verdict": "correct"}, timeout=10
        ).status_code
        == 403
    )
    for s, verdict in zip(sample[:2], ("correct", "wrong"), strict=False):
        r = http.post(
            f"{console.base}/review/check/{s.child_key}",
            data={"verdict": verdict, "csrf_token": token},
            timeout=10,
        )
        assert r.status_code == 200
    q = login(console.base, "vera").get(f"{console.base}/api/quality", timeout=10).json()
    n = min(2, len(sample))
    assert q["verdicts"] == n and q["correct"] == 1
    assert 0 <= q["wilson_95"][0] < q["precision"] <= q["wilson_95"][1] <= 1
    dash = login(console.base, "vera").get(f"{console.base}/", timeout=10).text
    assert 'id="quality-verdicts">' + str(n) in dash and f"{q['verdicts_for_2_percent']:,}" in dash
    assert "quality_verdict" in _actions(console, "carl")


def test_an_admin_starts_and_cancels_runs_from_the_runs_page(console: Console) -> None:
    http = login(console.base, "ada")
    _latest(console.store)
    page = http.get(f"{console.base}/runs", timeout=10)
    assert 'id="start-run"' in page.text
    started = http.post(
        f"{console.base}/runs/start", data={"csrf_token": csrf_of(page.text), "mode": "full"}, timeout=30
    )
    assert started.status_code == 200 and "started (console)" in started.text
    run = _latest(console.store)
    assert (run.trigger, run.outcome) == ("console", "succeeded")
    # a run that waits on workers that never come: the admin cancels it
    stuck = stages.start_distributed(console.store, console.settings, "cli", lambda _r, _s: None)
    page = http.get(f"{console.base}/runs", timeout=10)
    assert f"/runs/{stuck}/cancel" in page.text
    token = csrf_of(page.text)
    assert (
        http.post(f"{console.base}/runs/{stuck}/cancel", data={"reason": "x"}, timeout=10).status_code == 403
    )
    done = http.post(
        f"{console.base}/runs/{stuck}/cancel", data={"csrf_token": token, "reason": "wrong date"}, timeout=10
    )
    assert done.status_code == 200
    cancelled = console.store.get_run(stuck)
    assert cancelled is not None and cancelled.outcome == "cancelled" and "ada" in (cancelled.error or "")
    assert console.store.lock_holder(stages.RUN_LOCK) is None
    again = http.post(f"{console.base}/runs/{stuck}/cancel", data={"csrf_token": token}, timeout=10)
    assert again.status_code == 409
    assert {"run_trigger", "run_cancel"} <= set(_actions(console, "ada"))


def test_an_admin_accepts_a_gated_drop_and_the_run_publishes(console: Console) -> None:
    http = login(console.base, "ada")
    _latest(console.store)
    payloads = console.world.to_payloads()
    payloads.orr = payloads.orr[: len(payloads.orr) // 2]
    console.sim.set_payloads(payloads)
    try:
        token = csrf_of(http.get(f"{console.base}/runs", timeout=10).text)
        http.post(f"{console.base}/runs/start", data={"csrf_token": token, "mode": "full"}, timeout=30)
        refused = _latest(console.store)
        assert refused.outcome == "refused"
        page = http.get(f"{console.base}/runs", timeout=10)
        assert f"/runs/{refused.id}/accept" in page.text
        bad = http.post(
            f"{console.base}/runs/{refused.id}/accept",
            data={"csrf_token": csrf_of(page.text), "feed": "dna", "reason": "x"},
            timeout=10,
        )
        assert bad.status_code == 400
        ok = http.post(
            f"{console.base}/runs/{refused.id}/accept",
            data={"csrf_token": csrf_of(page.text), "feed": "orr", "reason": "half the shelters closed"},
            timeout=30,
        )
        assert ok.status_code == 200
        run = _latest(console.store)
        assert run.outcome == "succeeded" and [(a.feed, a.who, a.why) for a in run.acceptances] == [
            ("orr", "ada", "half the shelters closed")
        ]
        assert "run_accept_drop" in _actions(console, "ada")
    finally:
        console.sim.set_payloads(console.world.to_payloads())
