"""The shipped alert rules are valid Prometheus rules and fire on the states they name
(``promtool test rules``, with the unit tests in deploy/prometheus/alerts_test.yml)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian's prometheus package; .ci/run installs it)"
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=RULES, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_the_alert_rules_are_valid_prometheus_rules() -> None:
    checked = _promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_the_alerts_fire_on_the_states_they_name_and_only_then() -> None:
    tested = _promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_metric_an_alert_reads_is_one_the_exporter_serves() -> None:
    metrics = (Path(__file__).resolve().parents[2] / "pipeline" / "metrics.py").read_text(encoding="utf-8")
    used = set(re.findall(r"\breunify_[a-z_]+", (RULES / "alerts.yml").read_text(encoding="utf-8")))
    served = set(re.findall(r"\breunify_[a-z_]+", metrics))
    served |= {f"reunify_last_run_records_{kind}" for kind in ("fetched", "valid", "quarantined")}
    assert used and used <= served, used - served
