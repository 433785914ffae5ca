"""The operators' tools on real runs: a generated world served over HTTP, reconciled twice with
changed feed data in between, then read back through the ``reunify`` command."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from celery_harness import reunify

from pipeline import normalise
from pipeline.ops.charts import COHORT_COLOURS, LINE_COLOUR
from pipeline.ops.discrepancies import find_discrepancies
from pipeline.reconcile import reconcile
from pipeline.results import COHORTS, STATUSES, ReviewDecision
from pipeline.run import load_snapshot, run_embedded
from pipeline.settings import Settings
from pipeline.sim.server import FaultConfig, FeedSimulator
from pipeline.sim.world import REMOVALS_HEADER, Rates, World, generate_world, mutate_world
from pipeline.store import Store

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "out" / "test-artifacts"


@dataclass
class TwoRuns:
    """A store holding two succeeded runs, the second on mutated feeds; both runs' exports."""

    store: Store
    env: dict[str, str]
    first: str
    second: str
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]


def _env(settings: Settings, sim: FeedSimulator, as_of: date) -> dict[str, str]:
    return sim.env() | {"REUNIFY_AS_OF": as_of.isoformat(), "REUNIFY_DATABASE_URL": settings.database_url}


def _cli(args: list[str], env: dict[str, str], ok: int = 0) -> str:
    done = reunify(args, env)
    assert done.returncode == ok, done.stderr
    return done.stdout


@pytest.fixture
def two_runs(small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings]) -> TwoRuns:
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    first = run_embedded(settings, store, "test")
    before = list(store.iter_results(first))
    later = mutate_world(small_world, 0.12, seed=5)
    simulator.set_payloads(later.to_payloads())
    settings2 = make_settings(simulator, REUNIFY_AS_OF=later.as_of.isoformat())
    second = run_embedded(settings2, store, "test")
    after = list(store.iter_results(second))
    return TwoRuns(store, _env(settings2, simulator, later.as_of), first, second, before, after)


def _key(row: dict[str, Any]) -> str:
    return min(row["child_record_ids"])


# --------------------------------------------------------------------------- report


def test_report_counts_changes_and_worklist_agree_with_the_two_exports(two_runs: TwoRuns) -> None:
    text = _cli(["report"], two_runs.env)
    after = two_runs.after

    # counts: every cell of the table is the export's count, and the check is printed and passes
    expected = Counter((r["status"], r["cohort"]) for r in after)
    table = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in STATUSES and len(cells) == len(COHORTS) + 2:
            table[cells[0]] = [int(c) for c in cells[1:]]
    assert set(table) == set(STATUSES)
    for status in STATUSES:
        row = [expected[(status, c)] for c in COHORTS]
        assert table[status] == [*row, sum(row)], status
    assert f"check OK: {len(after)} children exported" in text
    assert "each child record counted once: yes" in text

    # deadlines from the settings' defaults, days left at the second run's report date (07-13)
    assert re.search(r"under_5\s+2018-07-10\s+passed 3 days ago", text)
    under5 = [r for r in after if r["cohort"] == "under_5"]
    not_reunified = sum(r["status"] != "reunified" for r in under5)
    assert re.search(
        rf"under_5\s+2018-07-10\s+passed 3 days ago\s+{len(under5)}\s+\d+\s+{not_reunified}\s", text
    )
    assert re.search(r"5_and_over\s+2018-07-26\s+13 days left", text)

    # changes: the lists name exactly the children whose export changed that way
    old = {_key(r): r for r in two_runs.before}
    new = {_key(r): r for r in after}
    both = sorted(set(old) & set(new))
    status_changed = [k for k in both if old[k]["status"] != new[k]["status"]]
    reunified = [k for k in both if new[k]["status"] == "reunified" and old[k]["status"] != "reunified"]
    removed = [
        k
        for k in both
        if new[k]["parent_location"]["state"] == "removed" and old[k]["parent_location"]["state"] != "removed"
    ]
    unresolved = [
        k for k in both if old[k]["parent_location"]["resolved"] and not new[k]["parent_location"]["resolved"]
    ]
    assert status_changed and reunified, "the mutation should have changed statuses; the check proves nothing"

    def listed(title: str) -> list[str]:
        block = text.split(f"  {title}: ", 1)[1].split("\n  ", 1)[0]  # count line, then its children
        count, *children = block.splitlines()
        keys = [c.strip().split(":")[0] for c in children]
        assert int(count) == len(keys)
        return keys

    chunk = text.split("Changes since run", 1)[1].split("Worklist:", 1)[0]
    assert two_runs.first in chunk.splitlines()[0]
    for title, want in (
        ("newly reunified", reunified),
        ("parent newly removed", removed),
        ("parent location newly unresolved", unresolved),
        ("status changed", status_changed),
    ):
        got = []
        for line in chunk.split(f"  {title}: ", 1)[1].splitlines()[1:]:
            if not line.startswith("    "):
                break
            got.append(line.strip().split(":")[0])
        assert got == want, title
    for k in status_changed:
        assert f"{k}: {old[k]['status']} -> {new[k]['status']}" in chunk

    # worklist: every unresolved child once, longest unresolved first, with ids, state, country, since
    work = text.split("Worklist: ", 1)[1].splitlines()
    assert work[0].startswith(f"{sum(not r['parent_location']['resolved'] for r in after)} unresolved")
    rows = work[3:]
    want_rows = sorted(
        (r for r in after if not r["parent_location"]["resolved"]),
        key=lambda r: (
            r["parent_location"]["days_unresolved"] is None,
            -(r["parent_location"]["days_unresolved"] or 0),
            r["child_record_ids"][0],
        ),
    )
    assert len(rows) == len(want_rows)
    for line, r in zip(rows, want_rows, strict=True):
        loc = r["parent_location"]
        assert line.startswith(", ".join(r["child_record_ids"]))
        assert f" {loc['state']} " in line
        assert line.rstrip().endswith(
            str(loc["days_unresolved"] if loc["days_unresolved"] is not None else "-")
        )
        if loc["since"]:
            assert loc["since"] in line
        if r["parent"]:
            parent_ids = r["parent"]["ice_record_ids"] + r["parent"]["removal_record_ids"]
            assert ", ".join(parent_ids) in line

    # names only with --with-names
    names = [r["name"] for r in after if r["name"]]
    assert not any(n in text for n in names)
    assert "names withheld" in text
    named = _cli(["report", "--with-names"], two_runs.env)
    assert sum(n in named for n in names) > len(names) // 4


def test_report_in_markdown_has_the_same_figures(two_runs: TwoRuns) -> None:
    md = _cli(["report", "--format", "md"], two_runs.env)
    expected = Counter((r["status"], r["cohort"]) for r in two_runs.after)
    for status in STATUSES:
        row = [expected[(status, c)] for c in COHORTS]
        assert f"| {status} | " + " | ".join(str(n) for n in [*row, sum(row)]) + " |" in md
    assert "**check OK:" in md and "## Worklist:" in md and "### status changed" in md


# --------------------------------------------------------------------------- HTML in a real browser


def _png_pixels(path: Path) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes): width, height, colours."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 4 if colour == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours: Counter[tuple[int, int, int]] = Counter()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        for x in range(0, stride, bpp):
            colours[(line[x], line[x + 1], line[x + 2])] += 1
        prev = line
    return width, height, colours


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "chromium is not installed (apt-get install -y chromium): the HTML report is not rendered"
        )
    return found


def test_the_html_report_renders_both_charts_in_headless_chromium(two_runs: TwoRuns, tmp_path: Path) -> None:
    browser = _chromium()
    page = tmp_path / "report.html"
    _cli(["report", "--format", "html", "--out", str(page)], two_runs.env)
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html), "the page must not load external assets"
    assert "<script" not in html

    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # what the browser built: both charts, a bar per status x cohort carrying the export's count
    assert 'id="chart-status-by-cohort"' in dom and 'id="chart-unresolved-over-runs"' in dom
    expected = Counter((r["status"], r["cohort"]) for r in two_runs.after)
    bars = re.findall(r'data-status="([^"]+)" data-cohort="([^"]+)" data-count="(\d+)"', dom)
    assert len(bars) == len(STATUSES) * len(COHORTS)
    assert {(s, c): int(n) for s, c, n in bars} == {
        (s, c): expected[(s, c)] for s in STATUSES for c in COHORTS
    }
    points = re.findall(r'data-run="([^"]+)" data-unresolved="(\d+)"', dom)
    unresolved = [
        sum(not r["parent_location"]["resolved"] for r in rows) for rows in (two_runs.before, two_runs.after)
    ]
    assert [(run, int(n)) for run, n in points] == list(
        zip([two_runs.first, two_runs.second], unresolved, strict=True)
    )
    assert "check OK" in dom

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1280,1500", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    print(f"screenshot of the HTML report: {shot}")
    width, height, colours = _png_pixels(shot)
    assert (width, height) == (1280, 1500)
    # the charts were painted: the cohorts' bar colours and the trend line's colour cover real area
    for cohort in ("under_5", "5_and_over"):
        assert colours[_rgb(COHORT_COLOURS[cohort])] > 200, cohort
    assert colours[_rgb(LINE_COLOUR)] > 100


# --------------------------------------------------------------------------- review queue


def test_review_decisions_between_runs_change_the_next_export_and_show_in_the_story(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator)
    store = Store(settings.database_url)
    env = _env(settings, simulator, settings.as_of)
    run_embedded(settings, store, "test")

    queue = [json.loads(line) for line in _cli(["review", "list", "--format", "jsonl"], env).splitlines()]
    linked = [q for q in queue if q["result"]["parent"]]
    assert len(linked) >= 2, "the world should give at least two flagged links"
    to_confirm, to_reject = linked[0]["result"], linked[1]["result"]
    confirm_adult = to_confirm["parent"]["ice_record_ids"][0]
    reject_adult = to_reject["parent"]["ice_record_ids"][0]
    shown = _cli(["review", "show", to_confirm["child_record_ids"][0]], env)
    assert confirm_adult in shown and "evidence" in shown and to_confirm["name"] in shown

    _cli(["review", "confirm", to_confirm["child_record_ids"][0], confirm_adult, "--who", "ana.r",
          "--why", "birth certificate seen"], env)  # fmt: skip
    _cli(["review", "reject", to_reject["child_record_ids"][0], reject_adult, "--who", "ben.t",
          "--why", "adult says not his child"], env)  # fmt: skip
    bad = reunify(["review", "confirm", to_confirm["child_record_ids"][0], "ICE-99999999", "--who", "x",
                   "--why", "y"], env)  # fmt: skip
    assert bad.returncode == 1 and "no ICE or removal record" in bad.stderr

    second = run_embedded(settings, store, "test")
    rows = {_key(r): r for r in store.iter_results(second)}
    confirmed, rejected = rows[_key(to_confirm)], rows[_key(to_reject)]
    assert confirmed["parent"]["ice_record_ids"][0] == confirm_adult
    assert confirmed["parent"]["match_score"] == 1.0 and not confirmed["needs_review"]
    assert confirmed["parent"]["evidence"][0].startswith("confirmed by review")
    assert rejected["parent"] is None or reject_adult not in rejected["parent"]["ice_record_ids"]
    remaining = _cli(["review", "list"], env)
    assert to_confirm["child_record_ids"][0] not in remaining

    # reconcile writes who, when and why into the evidence when given them
    decisions = [
        ReviewDecision(d.child_key, d.adult_key, d.decision, d.who, d.decided_at.date(), d.why)
        for d in store.list_decisions()
    ]
    results = {r.child_key: r for r in reconcile(load_snapshot(second, store), settings.as_of, decisions)}
    today = store.list_decisions()[0].decided_at.date().isoformat()
    parent = results[_key(to_confirm)].parent
    assert parent is not None
    assert parent.evidence[0] == f"confirmed by reviewer ana.r on {today}: birth certificate seen"

    story = _cli(["show", to_confirm["child_record_ids"][0]], env)
    assert "confirm " + confirm_adult + " by ana.r" in story and "birth certificate seen" in story
    assert "status history (2 succeeded runs)" in story
    assert "source records" in story and confirm_adult in story

    # a DNA exclusion for the confirmed pair reopens the case
    payloads = small_world.to_payloads()
    exclusion = {
        "case_id": "DNA-9999999",
        "adult_a_number": None,
        "child_a_number": None,
        "adult_subject_id": confirm_adult,
        "child_id": to_confirm["child_record_ids"][0],
        "result": "exclusion",
        "reported_at": "2018-07-12T09:00:00Z",
    }
    payloads.dna = [*payloads.dna, exclusion]
    simulator.set_payloads(payloads)
    third = run_embedded(settings, store, "test")
    reopened = next(r for r in store.iter_results(third) if _key(r) == _key(to_confirm))
    assert reopened["status"] == "not_a_parent" and reopened["needs_review"]
    assert any(e.startswith("reopened: DNA exclusion") for e in reopened["parent"]["evidence"])
    assert to_confirm["child_record_ids"][0] in _cli(["review", "list"], env)


# --------------------------------------------------------------------------- runs


def test_runs_lists_each_run_with_its_trigger_duration_outcome_counts_and_error(
    small_world: World, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator)
    env = _env(settings, simulator, settings.as_of)
    store = Store(settings.database_url)
    good = run_embedded(settings, store, "test")
    failed = reunify(["run"], env | {"REUNIFY_ICE_TOKEN": "wrong-token"})
    assert failed.returncode == 1
    text = _cli(["runs"], env)
    lines = text.splitlines()
    assert "trigger" in lines[0] and "duration" in lines[0] and "quarantined" in lines[0]
    newest, oldest = lines[2], lines[3]
    assert "failed" in newest and "ice feed: token refused" in newest and " cli " in newest
    assert oldest.startswith(good) and "succeeded" in oldest and " test " in oldest
    counts = store.get_run(good).counts  # type: ignore[union-attr]
    for feed in ("orr", "ice", "removals", "dna"):
        assert f" {counts[feed].valid} " in oldest
    assert f"{sum(c.quarantined for c in counts.values())} (" in oldest
    assert re.search(r"\d+\.\ds", oldest)


# --------------------------------------------------------------------------- discrepancies


def _us(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"


def _removal_row(rid: str, adult: dict[str, Any], day: str, **change: str) -> list[str]:
    row = {
        "REMOVAL_ID": rid,
        "A_NUMBER": normalise.a_number(adult["a_number"]) or "",
        "LAST_NAME": normalise.fold(adult["last_name"]),
        "FIRST_NAME": normalise.fold(adult["first_name"]),
        "DOB": _us(adult["birth_date"]),
        "COUNTRY": normalise.country(adult["citizenship"]) or "",
        "REMOVAL_DATE": _us(day),
        "PORT": "ELP",
    } | change
    return [row[col] for col in REMOVALS_HEADER]


def test_discrepancies_lists_exactly_the_conflicts_planted_in_a_world(
    make_settings: Callable[..., Settings],
) -> None:
    # A world without the generator's own same-day removals and re-referrals: no conflicts at all.
    world = generate_world(160, seed=11, rates=Rates(removal_tie=0, re_referral=0))
    bad = {feed: set(v) for feed, v in world.malformed.items()}
    ice = [r for i, r in enumerate(world.ice) if i not in bad["ice"] and isinstance(r, dict)]
    orr = [r for i, r in enumerate(world.orr) if i not in bad["orr"] and isinstance(r, dict)]
    numbers = Counter(
        normalise.a_number(x)
        for x in [*(r.get("a_number") for r in ice), *(r.get("aNumber") for r in orr)]
        + [row[1] for i, row in enumerate(world.removals) if i not in bad["removals"]]
    )
    parents = {rid for link in world.links for rid in link.ice_record_ids}
    status = {cid: t["status"] for t in world.truth for cid in t["child_record_ids"]}

    def usable(r: dict[str, Any]) -> bool:
        a = normalise.a_number(r.get("a_number"))
        return bool(a and numbers[a] == 1 and r.get("birth_date") and r["custody"]["as_of"] <= "2018-07-09")

    strangers = [r for r in ice if r["subject_id"] not in parents and usable(r)]
    lone_parents = [
        (link, next(r for r in ice if r["subject_id"] == link.ice_record_ids[0]))
        for link in world.links
        if len(link.ice_record_ids) == 1 and not link.removal_record_ids and len(link.child_record_ids) == 1
    ]
    detained = [
        (link, r)
        for link, r in lone_parents
        if usable(r)
        and r["custody"]["status"] == "detained"
        and status[link.child_record_ids[0]] == "eligible"
    ]
    detained = list({r["subject_id"]: (link, r) for link, r in reversed(detained)}.values())[
        ::-1
    ]  # one per adult
    dob_adult, name_adult = strangers[0], strangers[1]
    (_, same_day_adult), (flip_link, flip_adult) = detained[0], detained[1]
    moved_child = next(
        r
        for r in orr
        if r["childId"] == detained[2][0].child_record_ids[0] and normalise.a_number(r["aNumber"])
    )

    with FeedSimulator(world.to_payloads(), faults=FaultConfig(retry_after=0.05)) as sim:
        store = Store(make_settings(sim).database_url)

        def run(as_of: str) -> None:
            run_embedded(make_settings(sim, REUNIFY_AS_OF=as_of), store, "test")

        run("2018-07-12")
        _, found = find_discrepancies(store, None, make_settings(sim).clock_skew_seconds)
        assert found == [], f"the clean world has conflicts of its own: {found}"

        # Plant one conflict of each kind found in the records; step a parent's location away.
        old_dob = date.fromisoformat(dob_adult["birth_date"])
        other_dob = old_dob.replace(year=old_dob.year - 20).isoformat()
        planted_rows = [
            _removal_row("RM-90000001", dob_adult, "2018-01-03", DOB=_us(other_dob)),
            _removal_row("RM-90000002", name_adult, "2018-01-03", FIRST_NAME="ZZYZX", LAST_NAME="QWERTYUIOP"),
            _removal_row("RM-90000003", same_day_adult, same_day_adult["custody"]["as_of"]),
        ]
        other_facility = next(r for r in orr if r["facilityId"] != moved_child["facilityId"])
        twin = moved_child | {
            "childId": "ORR-0900001",
            "facilityId": other_facility["facilityId"],
            "facilityName": other_facility["facilityName"],
        }
        released = flip_adult | {
            "custody": {
                "status": "released",
                "facility_code": None,
                "facility_name": None,
                "as_of": "2018-07-13",
            },
            "updated_at": "2018-07-13T10:00:00Z",
        }
        back = flip_adult | {
            "custody": flip_adult["custody"] | {"as_of": "2018-07-14"},
            "updated_at": "2018-07-14T10:00:00Z",
        }
        planted = World(
            world.as_of, world.seed, [*world.orr, twin], list(world.ice), [*world.removals, *planted_rows],
            list(world.dna), world.links,
        )  # fmt: skip
        flip_at = world.ice.index(flip_adult)
        for adult in (released, back):
            planted.ice[flip_at] = adult
            sim.set_payloads(planted.to_payloads())
            run(adult["custody"]["as_of"])

        _, found = find_discrepancies(store, None, make_settings(sim).clock_skew_seconds)
        assert any(
            set(r["child_record_ids"]) == {moved_child["childId"], "ORR-0900001"}
            for r in store.iter_results()
        ), "the matcher did not merge the planted twin record with its child"
        got = {(d.kind, d.record_ids) for d in found}
        # every child linked to the flipping parent shares its location (siblings, or a child the
        # matcher gave the same parent)
        flip_children = tuple(
            sorted(
                min(r["child_record_ids"])
                for r in store.iter_results()
                if r["parent"] and r["parent"]["ice_record_ids"][:1] == [flip_adult["subject_id"]]
            )
        )
        assert flip_link.child_record_ids[0] in flip_children
        assert got == {
            ("a_number_dob", (dob_adult["subject_id"], "RM-90000001")),
            ("a_number_name", (name_adult["subject_id"], "RM-90000002")),
            ("two_facilities", (moved_child["childId"], "ORR-0900001")),
            ("detained_and_removed", (same_day_adult["subject_id"], "RM-90000003")),
            ("location_flip", (flip_adult["subject_id"], *flip_children)),
        }
        env = _env(make_settings(sim), sim, date(2018, 7, 14))

    text = _cli(["discrepancies"], env)
    assert "run history: 5" in text
    for kind in ("a_number_dob", "a_number_name", "two_facilities", "detained_and_removed", "location_flip"):
        assert f"  {kind}: 1" in text
    assert "in_ice_custody (2018-07-12) -> released (2018-07-13) -> in_ice_custody (2018-07-14)" in text
    assert "ZZYZX" not in text and other_dob not in text
    named = _cli(["discrepancies", "--with-names"], env)
    assert "ZZYZX" in named and other_dob in named
    lines = [json.loads(line) for line in _cli(["discrepancies", "--format", "jsonl"], env).splitlines()]
    assert sorted(d["kind"] for d in lines) == sorted(k for k, _ in got) and all(
        not d["values"] for d in lines
    )
