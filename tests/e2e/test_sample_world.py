"""The shared sample world served over HTTP and reconciled by a whole run (where it exists)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.run import run_embedded
from pipeline.settings import Settings
from pipeline.sim.payloads import load_payloads
from pipeline.sim.score import score
from pipeline.sim.server import FeedSimulator
from pipeline.store import Store

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"

pytestmark = [
    pytest.mark.sample,
    pytest.mark.skipif(
        not (SAMPLES / "expected.jsonl").exists(), reason="no ../shared/samples beside the repo"
    ),
]


def test_the_sample_world_reconciles_to_its_expected_answer(make_settings: Callable[..., Settings]) -> None:
    expected = [json.loads(line) for line in (SAMPLES / "expected.jsonl").read_text().splitlines() if line]
    with FeedSimulator(load_payloads(SAMPLES)) as sim:
        settings = make_settings(sim)
        store = Store(settings.database_url)
        run_embedded(settings, store, "test")
    rows = list(store.iter_results())

    ids = Counter(rid for row in rows for rid in row["child_record_ids"])
    assert max(ids.values()) == 1, "a child record was exported twice"
    assert set(ids) == {rid for e in expected for rid in e["child_record_ids"]}

    result = score(rows, expected)
    assert result.cohort_accuracy == 1.0
    assert result.dedup_f1 == 1.0
    assert result.link_precision >= 0.98, result.as_table()
    assert result.status_accuracy >= 0.96, result.as_table()
