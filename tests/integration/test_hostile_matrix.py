"""Never a wrong publish (issue 13, done-when): every hostile mode of the simulator, over real HTTP.

For each registered mode (``pipeline.sim.hostile.MODES``, so a mode added later is covered by
the same test), a store that holds a good run is run again against the feeds with the mode on.
Either the run fails (or a publish gate refuses it) and what ``reunify export`` writes, JSONL and
CSV, is byte for byte what it wrote before; or the run succeeds and publishes what the clean
world publishes, but for the effects the mode documents (``EXPECTED`` below: a mode that changes
what a correct run publishes must say how, or this test fails on it).
"""

from __future__ import annotations

import copy
import csv
import io
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from entrypoints.cli import write_export
from pipeline.errors import RunFailedError
from pipeline.run import run_embedded
from pipeline.settings import Settings, load_settings
from pipeline.sim import hostile
from pipeline.sim.payloads import WorldPayloads
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World, generate_world
from pipeline.store import Store

AS_OF = "2018-07-12"
# Limits that make the modes that never end (trickle, endless pages, oversized bodies) fail in a
# second or two; a clean run of this world is far within each of them.
TIGHT = {
    "REUNIFY_REQUEST_TIMEOUT": "2",
    "REUNIFY_RETRY_MAX_SECONDS": "1.5",
    "REUNIFY_RETRY_MAX_ATTEMPTS": "3",
    "REUNIFY_FETCH_BUDGET_SECONDS": "8",
    "REUNIFY_PAGE_MAX_SECONDS": "1",
    "REUNIFY_MAX_PAGES": "50",
    "REUNIFY_MAX_RESPONSE_BYTES": str(2 * 1024 * 1024),
    "REUNIFY_RUN_DEADLINE_SECONDS": "30",
}

Rows = list[dict[str, Any]]


def comparable(store: Store) -> Rows:
    """The published results without the run id they carry."""
    return [{k: v for k, v in row.items() if k != "run_id"} for row in store.iter_results()]


def exported(store: Store) -> tuple[str, str]:
    """What ``reunify export`` writes: JSON lines, and CSV."""
    out = []
    for fmt in ("jsonl", "csv"):
        buf = io.StringIO()
        write_export(store.iter_results(), fmt, buf)
        out.append(buf.getvalue())
    return out[0], out[1]


@dataclass
class Matrix:
    """One world served with stable tokens, and a store template holding one good run of it."""

    world: World
    simulator: FeedSimulator
    template: Path
    good_run: str
    clean: Rows
    settings: Callable[[Path], Settings]

    def oracle(self, payloads: WorldPayloads, tmp: Path) -> Rows:
        """What a good run publishes when the feeds serve these payloads (no mode on)."""
        self.simulator.set_hostile([])
        self.simulator.set_payloads(payloads)
        try:
            store = Store(f"sqlite:///{tmp / 'oracle.sqlite3'}")
            run_embedded(self.settings(tmp / "oracle.sqlite3"), store, "test")
            rows = comparable(store)
            store.close()
        finally:
            self.simulator.set_payloads(self.world.to_payloads())
        return rows


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    world = generate_world(120, seed=5)
    tmp = tmp_path_factory.mktemp("matrix")
    with FeedSimulator(world.to_payloads(), dna_page_size=20) as sim:
        # the serving modes' knobs, sized to this world and to TIGHT
        sim.trickle_bytes, sim.trickle_interval = 64, 0.2
        sim.oversized_page_bytes = 3 * 1024 * 1024
        sim.ice_page_cap = 100

        def settings(db: Path, **extra: str) -> Settings:
            env = sim.env() | {"REUNIFY_AS_OF": AS_OF, "REUNIFY_DATABASE_URL": f"sqlite:///{db}"} | extra
            return load_settings(env, config_file=tmp / "none.toml")

        template = tmp / "template.sqlite3"
        store = Store(f"sqlite:///{template}")
        good = run_embedded(settings(template), store, "test")
        clean = comparable(store)
        store.close()
        yield Matrix(world, sim, template, good, clean, settings)


# --------------------------------------------------------------------------- documented effects
# A mode's effect gives what a correct run publishes under it, as a check of the published rows
# (an AssertionError naming the child when they are not); a mode not listed in EFFECTS must
# publish exactly what the clean world publishes.

Check = Callable[[Rows], None]
Effect = Callable[["Matrix", WorldPayloads, Path], Check]


def _equal_to(expected: Rows) -> Check:
    def check(published: Rows) -> None:
        assert [r["child_record_ids"] for r in published] == [r["child_record_ids"] for r in expected]
        for got, want in zip(published, expected, strict=True):
            assert got == want, f"child {got['child_record_ids']}"

    return check


def _nulled_dates(m: Matrix, served: WorldPayloads, tmp: Path) -> Check:
    """The impossible-date modes: the dates they plant are taken as unknown, so a correct run
    publishes what the same feeds publish with those fields null (pipeline/sim/hostile.py)."""
    nulled = copy.deepcopy(served)
    for feed in ("orr", "ice"):
        for old, new in zip(getattr(m.world.to_payloads(), feed), getattr(nulled, feed), strict=True):
            if isinstance(old, dict) and old != new:
                _null_changes(old, new)
    return _equal_to(m.oracle(nulled, tmp))


def _null_changes(old: dict[str, Any], new: dict[str, Any]) -> None:
    for key in new:
        if isinstance(old.get(key), dict) and isinstance(new[key], dict):
            _null_changes(old[key], new[key])
        elif old.get(key) != new[key]:
            new[key] = None


def _removal_dated_in_future(m: Matrix, served: WorldPayloads, tmp: Path) -> Check:
    """``removal_in_future``: a removal row must carry its date (one without is quarantined), so
    it cannot be nulled; the children whose parent has that row keep their status (the parent's
    ICE record says removed too) and only the day their parent's location dates from, and so the
    days unresolved, may differ. Every other child is published as in the clean world."""
    planted = _altered_ids(m.world.to_payloads(), served)
    expected = []
    for row in m.clean:
        if planted & set((row.get("parent") or {}).get("removal_record_ids") or []):
            row = copy.deepcopy(row)
            row["parent_location"]["since"] = row["parent_location"]["days_unresolved"] = _ANY
        expected.append(row)
    return _equal_to(expected)


# What names feed into beyond the name fields themselves: the match evidence and score, the
# review flag and the facility name (planted by hostile_names too).
_NAME_FIELDS = {"name", "needs_review"}
_PARENT_NAME_FIELDS = {"name", "match_score", "evidence"}


def _renamed(m: Matrix, served: WorldPayloads, tmp: Path) -> Check:
    """Modes that change names of valid records in place (``hostile_names``, ``record_name_huge``).

    Names are evidence, and the name frequencies of the whole snapshot weigh it: every child's
    match evidence, score and review flag may change, and the name fields carry what was served.
    Nothing else may change, but one thing: a child whose own or whose parent's record was renamed
    may lose its link (junk in a name is not the name), and is then published as a child without
    a parent match. No child gains a parent, or gets another one, and none is lost.
    """
    altered = _altered_ids(m.world.to_payloads(), served)

    def check(published: Rows) -> None:
        assert [r["child_record_ids"] for r in published] == [r["child_record_ids"] for r in m.clean]
        for got, want in zip(published, m.clean, strict=True):
            who = f"child {got['child_record_ids']}"
            parent, clean_parent = got.get("parent"), want.get("parent")
            if parent is None and clean_parent is not None:
                touched = {
                    *want["child_record_ids"],
                    *clean_parent["ice_record_ids"],
                    *clean_parent["removal_record_ids"],
                }
                assert touched & altered, f"{who} lost its link, though neither it nor its parent was renamed"
                assert got["status"] in ("no_parent_match", "reunified", "discharged_other"), who
                assert got["parent_location"]["state"] in ("unknown", "with_child"), who
                continue
            assert (parent is None) == (clean_parent is None), f"{who} gained a parent"
            if parent is not None:
                assert _without(parent, _PARENT_NAME_FIELDS) == _without(clean_parent, _PARENT_NAME_FIELDS), (
                    who
                )
            loc, clean_loc = got["parent_location"], want["parent_location"]
            assert _without(loc, {"facility"}) == _without(clean_loc, {"facility"}), who
            assert _without(got, {*_NAME_FIELDS, "parent", "parent_location"}) == _without(
                want, {*_NAME_FIELDS, "parent", "parent_location"}
            ), who

    return check


def _without(row: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}


def _altered_ids(clean: WorldPayloads, served: WorldPayloads) -> set[str]:
    """The ids of the records the mode changed (or added)."""
    out: set[str] = set()
    for feed, key in (("orr", "childId"), ("ice", "subject_id"), ("dna", "case_id")):
        before = [r for r in getattr(clean, feed) if isinstance(r, dict)]
        out |= {str(r.get(key)) for r in getattr(served, feed) if isinstance(r, dict) and r not in before}
    old = {tuple(r) for r in csv.reader(io.StringIO(clean.removals_csv, newline=""))}
    out |= {
        r[0] for r in csv.reader(io.StringIO(served.removals_csv, newline="")) if r and tuple(r) not in old
    }
    return out


class _Any:
    """Equal to anything: a field a mode's documented effect lets differ."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<any>"


_ANY = _Any()

EFFECTS: dict[str, Effect] = {
    **dict.fromkeys(hostile.IMPOSSIBLE_DATE_MODES, _nulled_dates),
    "removal_in_future": _removal_dated_in_future,
    "hostile_names": _renamed,
    "record_name_huge": _renamed,
}
# What becomes of a run under each mode known today. ``fails``: no correct run can publish
# through it (the feed is incomplete or broken, a limit is passed, a redirect leaves the origin,
# a publish gate stops the run); such a run gets the TIGHT limits, so that it fails in a second
# or two. ``publishes``: the bad records are quarantined or taken as unknown, or the feed heals;
# such a run gets ordinary limits, so that a busy machine cannot fail it. A mode not listed here
# (one added later) gets TIGHT, and either outcome, so long as it is not a wrong publish.
OUTCOMES: dict[str, str] = {
    **dict.fromkeys(
        (
            "ice_empty_page",
            "removals_empty_body",
            "removals_header_only",
            "removals_wrong_header",
            "removals_unterminated_quote",
            "trickle",
            "orr_endless_cursors",
            "dna_endless_links",
            "oversized_page",
            "dna_redirect_off_origin",
            "dna_redirect_loop",
            "dna_redirect_control_chars",
            "dna_redirect_unmatched_bracket",
            "dna_redirect_bad_port",
            "dna_next_link_malformed",
            "record_nested_deep_broken",
            "ice_shrunk",
            "orr_quarantine_flood",
        ),
        "fails",
    ),
    **dict.fromkeys(
        (
            "ice_empty_page_once",
            "ice_caps_per_page",
            "ice_caps_per_page_late",
            "dna_redirect_same_origin",
            "record_id_nul",
            "record_id_too_long",
            "record_id_control",
            "record_name_nul",
            "record_name_surrogate",
            "record_nested_deep",
            "record_name_huge",
            "future_updated_at",
            *hostile.IMPOSSIBLE_DATE_MODES,
            "hostile_names",
        ),
        "publishes",
    ),
}
ORDINARY = {"REUNIFY_RUN_DEADLINE_SECONDS": "120", "REUNIFY_FETCH_BUDGET_SECONDS": "60"}


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("mode", sorted(hostile.MODES))
def test_a_hostile_feed_either_fails_leaving_the_export_untouched_or_publishes_correct_results(
    matrix: Matrix, mode: str, tmp_path: Path
) -> None:
    db = tmp_path / "store.sqlite3"
    shutil.copyfile(matrix.template, db)
    store = Store(f"sqlite:///{db}")
    before = exported(store)
    served = hostile.apply_data_modes(matrix.world.to_payloads(), [mode])
    check = EFFECTS.get(mode, lambda m, p, t: _equal_to(m.clean))(matrix, served, tmp_path)

    matrix.simulator.set_hostile([mode])
    started = time.monotonic()
    try:
        limits = ORDINARY if OUTCOMES.get(mode) == "publishes" else TIGHT
        run_embedded(matrix.settings(db, **limits), store, "test")
    except RunFailedError as exc:  # any other exception is a bug: not our type, no clear reason
        failed: RunFailedError | None = exc
    else:
        failed = None
    finally:
        matrix.simulator.set_hostile([])
    seconds = time.monotonic() - started

    latest = store.list_runs(limit=1)[0]
    if failed is not None:
        assert OUTCOMES.get(mode) != "publishes", f"{mode}: the run failed: {failed}"
        assert latest.status == "failed" and latest.error, mode
        assert store.latest_succeeded_run().id == matrix.good_run  # type: ignore[union-attr]
        assert exported(store) == before, f"{mode}: a failed run changed the export"
    else:
        assert OUTCOMES.get(mode) != "fails", f"{mode}: the run published"
        assert latest.status == "succeeded" and latest.id != matrix.good_run
        check(comparable(store))
    store.close()
    assert seconds < 20, f"{mode} took {seconds:.1f}s"


def test_the_expectations_name_registered_modes() -> None:
    # a renamed mode must not fall back, silently, to the default expectation
    assert set(EFFECTS) | set(OUTCOMES) <= set(hostile.MODES)
