"""The shipped Grafana dashboard reads the provisioned data source, only metrics the exporter
serves, and only valid PromQL (checked by promtool, as the alert rules are)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline.metrics import metrics_registry
from pipeline.settings import load_settings
from pipeline.store import Store

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
PROMTOOL = shutil.which("promtool")
METRIC = re.compile(r"\breunify_[a-z_]+\b")


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GRAFANA / "dashboards" / "reunify.json").read_text(encoding="utf-8"))
    return loaded


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def test_every_panel_reads_the_provisioned_prometheus_data_source() -> None:
    provisioned = (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    uids = set(re.findall(r"^\s*uid:\s*(\S+)\s*$", provisioned, re.M))
    used = {p["datasource"]["uid"] for p in _panels()} | {
        t["datasource"]["uid"] for p in _panels() for t in p["targets"]
    }
    assert used == uids


def test_every_metric_a_panel_reads_is_one_the_exporter_serves(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    settings = load_settings({}, config_file=tmp_path / "none.toml")
    served = {family.name for family in metrics_registry(store, settings).collect()}
    store.close()
    used = {name for expr in _exprs() for name in METRIC.findall(expr)}
    assert used and used <= served, used - served


def test_the_dashboards_panels_cover_runs_feeds_statuses_unresolved_and_review() -> None:
    used = {name for expr in _exprs() for name in METRIC.findall(expr)}
    for wanted in (
        "reunify_last_success_timestamp_seconds",
        "reunify_last_run_outcome",
        "reunify_last_run_stage_duration_seconds",
        "reunify_last_run_records_valid",
        "reunify_children_by_status",
        "reunify_unresolved_parent_locations",
        "reunify_links_needing_review",
    ):
        assert wanted in used, wanted


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (.ci/run installs Debian's prometheus)")
def test_every_panel_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool has no "check this expression"; a recording rule per query is checked the same way
    # (written as JSON, which is YAML).
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:q{i}", "expr": expr} for i, expr in enumerate(_exprs())],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")
    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
