"""The publish gates' evaluation alone (``pipeline.gates.evaluate_gates``), their settings, and the
``reunify run --accept-drop`` arguments; the gates over real HTTP and both stores are proved in
tests/integration/test_publish_gates.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from entrypoints.cli import acceptances, build_parser
from pipeline.errors import ConfigError
from pipeline.gates import GATES, AcceptDrop, check_acceptances, evaluate_gates, refusal_reason
from pipeline.settings import FEEDS, Settings, load_settings
from pipeline.store import FeedCounts, GateCheck, RunInfo

T = datetime(2018, 7, 12, 12, 0, tzinfo=UTC)
ENV = {
    f"REUNIFY_{feed.upper()}_{part}": "http://x" if part == "URL" else "t"
    for feed in ("orr", "ice", "removals")
    for part in ("URL", "TOKEN")
}


def _run(run_id: str, **counts: FeedCounts) -> RunInfo:
    return RunInfo(
        run_id, "test", "running", "publish", date(2018, 7, 12), T, T, None, None, None, None, counts
    )


def _settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(ENV | env, config_file=tmp_path / "none.toml")


def _by(checks: list[GateCheck]) -> dict[tuple[str, str], GateCheck]:
    return {(c.gate, c.feed): c for c in checks}


BASE = _run(
    "base", orr=FeedCounts(200, 200, 0), ice=FeedCounts(1000, 1000, 0), removals=FeedCounts(50, 50, 0)
)


def test_a_drop_of_exactly_the_threshold_passes_and_one_record_more_refuses(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    at = _run("r", orr=FeedCounts(200, 200, 0), ice=FeedCounts(800, 800, 0), removals=FeedCounts(50, 50, 0))
    over = _run("r", orr=FeedCounts(200, 200, 0), ice=FeedCounts(799, 799, 0), removals=FeedCounts(50, 50, 0))

    assert _by(evaluate_gates(at, BASE, settings))[("feed_drop", "ice")].outcome == "passed"
    refused = _by(evaluate_gates(over, BASE, settings))[("feed_drop", "ice")]
    assert (refused.outcome, refused.observed, refused.reference) == ("refused", 799, 1000)
    assert refused.detail == (
        "ice feed: 799 valid records, 1,000 in the last good run (drop 20.1% > REUNIFY_MAX_FEED_DROP 20.0%)"
    )


def test_the_quarantine_gate_needs_its_rate_and_more_than_its_floor_of_records(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    few = _run("r", orr=FeedCounts(20, 15, 5))  # 25%, but only five records: not a flood
    flood = _run("r", orr=FeedCounts(120, 114, 6))  # 5.0%: not over the threshold
    over = _run("r", orr=FeedCounts(100, 94, 6))  # 6.0%, six records

    assert _by(evaluate_gates(few, None, settings))[("quarantine_rate", "orr")].outcome == "passed"
    assert _by(evaluate_gates(flood, None, settings))[("quarantine_rate", "orr")].outcome == "passed"
    refused = _by(evaluate_gates(over, None, settings))[("quarantine_rate", "orr")]
    assert refused.outcome == "refused" and refused.measured == pytest.approx(0.06)


def test_an_accepted_feed_records_accepted_and_the_others_still_refuse(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    run = _run("r", orr=FeedCounts(200, 200, 0), ice=FeedCounts(500, 500, 0), removals=FeedCounts(0, 0, 0))

    checks = evaluate_gates(run, BASE, settings, accepted={"ice"})

    outcomes = {k: c.outcome for k, c in _by(checks).items() if c.outcome != "passed"}
    assert outcomes == {("feed_drop", "ice"): "accepted", ("feed_drop", "removals"): "refused"}
    reason = refusal_reason(checks)
    assert "(last good run base)" in reason and "removals feed: 0 valid records, 50 in" in reason
    assert "ice feed" not in reason and "`reunify run --accept-drop removals --reason TEXT`" in reason


def test_a_feed_no_longer_configured_is_a_drop_that_says_so(tmp_path: Path) -> None:
    base = _run("base", **BASE.counts, dna=FeedCounts(40, 40, 0))
    run = _run("r", **BASE.counts, dna=FeedCounts(0, 0, 0))

    dna = _by(evaluate_gates(run, base, _settings(tmp_path)))[("feed_drop", "dna")]

    assert dna.outcome == "refused" and "not configured (REUNIFY_DNA_URL, REUNIFY_DNA_TOKEN)" in dna.detail


def test_every_gate_is_evaluated_on_every_feed_with_its_setting(tmp_path: Path) -> None:
    settings = _settings(tmp_path, REUNIFY_MAX_FEED_DROP="0.5", REUNIFY_MAX_QUARANTINE_RATE="0.01")
    checks = evaluate_gates(BASE, BASE, settings)
    assert [(c.gate, c.feed) for c in checks] == [(g.name, f) for g in GATES for f in FEEDS]
    assert {c.gate: c.threshold for c in checks} == {"feed_drop": 0.5, "quarantine_rate": 0.01}


@pytest.mark.parametrize("value", ["1.5", "-0.1", "twenty"])
def test_a_gate_threshold_must_be_a_fraction(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="REUNIFY_MAX_FEED_DROP must be"):
        _settings(tmp_path, REUNIFY_MAX_FEED_DROP=value)


def test_accept_drop_needs_a_reason_and_a_feed_of_the_vocabulary(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(ConfigError, match="--accept-drop ice needs --reason TEXT"):
        acceptances(parser.parse_args(["run", "--accept-drop", "ice"]))
    with pytest.raises(ConfigError, match="--reason goes with --accept-drop FEED"):
        acceptances(parser.parse_args(["run", "--reason", "why"]))
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--accept-drop", "icee", "--reason", "why"])
    assert "invalid choice: 'icee' (choose from 'orr', 'ice', 'removals', 'dna')" in capsys.readouterr().err

    given = acceptances(
        parser.parse_args(["run", "--accept-drop", "ice", "--accept-drop", "dna", "--reason", " x "])
    )
    assert [(a.feed, a.why) for a in given] == [("ice", "x"), ("dna", "x")]
    assert all(a.who for a in given)  # the OS user unless --who


def test_an_acceptance_is_checked_again_where_a_run_begins() -> None:
    with pytest.raises(ConfigError, match="names no feed: 'icee'"):
        check_acceptances([AcceptDrop("icee", "ana", "why")])
    with pytest.raises(ConfigError, match="at most 255 characters"):
        check_acceptances([AcceptDrop("ice", "a" * 256, "why")])
