"""Publishing a run brings the parents-to-locate cases up to it, so the console's first read
after a run does not pay for it; on both backends, over a real run against the feed simulator."""

from __future__ import annotations

from collections.abc import Callable

from pipeline import run as stages
from pipeline.ops.cases import current_run
from pipeline.settings import Settings
from pipeline.sim.server import FeedSimulator
from pipeline.store import Store
from pipeline.store.cases import CaseFilter, CaseStore


def test_a_published_run_has_its_cases_brought_up_before_anyone_reads_them(
    db_url: str, simulator: FeedSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(simulator, db_url)
    with Store(db_url) as store:
        cases = CaseStore(store)
        for _ in range(2):
            run_id = stages.run_embedded(settings, store, "test")
            assert cases.synced_run() == run_id, "the publish should have brought the cases up"
            listed = list(cases.iter_list(run_id, CaseFilter(), []))
            assert listed and all(c.seen_run_id == run_id for c in listed)
        assert cases.sync(run_id).synced is False, "a second bringing up is a no-op"
        assert current_run(store, settings) == run_id
