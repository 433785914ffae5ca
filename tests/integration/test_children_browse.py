"""The console's children table on both backends: every order pages through every child exactly
once, in the order asked for, with filters and search narrowing the same pages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from pg_databases import fresh_pg_database

from pipeline.run import run_embedded
from pipeline.settings import load_settings
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import generate_world
from pipeline.store import Store
from pipeline.store.browse import SORTS, ChildFilter, ChildRow, browse_children, count_children


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def published(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, str]]:
    """One run of a small world per backend, shared by the module's read-only tests."""
    tmp = tmp_path_factory.mktemp("browse")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'reunify.sqlite3'}"
        else:
            url = stack.enter_context(fresh_pg_database(request.getfixturevalue("pg_admin_engine")))
        sim = stack.enter_context(FeedSimulator(generate_world(160, seed=11).to_payloads()))
        env = sim.env() | {"REUNIFY_AS_OF": "2018-07-12", "REUNIFY_DATABASE_URL": url}
        settings = load_settings(env, config_file=tmp / "none.toml")
        store = Store(settings.database_url)
        yield store, run_embedded(settings, store, "test")
        store.close()


def _pages(store: Store, run_id: str, f: ChildFilter, sort: str, descending: bool) -> list[ChildRow]:
    rows: list[ChildRow] = []
    while page := browse_children(
        store, run_id, f, sort=sort, descending=descending, offset=len(rows), limit=7
    ):
        rows += page
    return rows


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", sorted(SORTS))
def test_pages_of_every_order_hold_each_child_once_in_one_consistent_order(
    published: tuple[Store, str], sort: str, descending: bool
) -> None:
    store, run_id = published
    everyone = ChildFilter()
    paged = _pages(store, run_id, everyone, sort, descending)
    whole = browse_children(store, run_id, everyone, sort=sort, descending=descending, limit=500)

    assert [r.child_key for r in paged] == [r.child_key for r in whole]
    assert len({r.child_key for r in paged}) == len(paged) == count_children(store, run_id, everyone)
    assert all(r.child_key == min(r.result["child_record_ids"]) for r in paged), "each row its own export"


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", ["days_unresolved", "match_score"])
def test_numeric_orders_put_the_values_in_order_and_the_empty_ones_last(
    published: tuple[Store, str], sort: str, descending: bool
) -> None:
    store, run_id = published
    paged = _pages(store, run_id, ChildFilter(), sort, descending)
    values = [getattr(r, sort) for r in paged]
    present = [v for v in values if v is not None]

    assert present, f"the world should give some children a {sort}"
    assert present == sorted(present, reverse=descending)
    assert values[len(present) :] == [None] * (len(values) - len(present)), "empty values come last"


def test_a_filtered_search_pages_through_just_the_children_it_keeps(published: tuple[Store, str]) -> None:
    store, run_id = published
    unresolved = ChildFilter(unresolved=True)
    kept = _pages(store, run_id, unresolved, "days_unresolved", True)
    assert kept and all(not r.resolved for r in kept)
    assert len(kept) == count_children(store, run_id, unresolved)

    some = kept[0].result["child_record_ids"][0]
    found = _pages(store, run_id, ChildFilter(unresolved=True, search=some), "child", False)
    assert [r.child_key for r in found] == [kept[0].child_key]
