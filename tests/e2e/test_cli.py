"""The ``reunify`` command as an operator runs it: exit codes, messages, export formats."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

from celery_harness import BIN, process_env, reunify

from pipeline import run as stages
from pipeline.exit_codes import ExitCode
from pipeline.settings import load_settings
from pipeline.sim.server import FeedSimulator
from pipeline.sim.world import World
from pipeline.store import Store


def _env(sim: FeedSimulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    return (
        sim.env()
        | {
            "REUNIFY_AS_OF": "2018-07-12",
            "REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
            "REUNIFY_RETRY_MAX_SECONDS": "10",
        }
        | extra
    )


def test_run_then_export_jsonl_and_csv_agree(
    simulator: FeedSimulator, small_world: World, tmp_path: Path
) -> None:
    env = _env(simulator, tmp_path)
    done = reunify(["run"], env)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout and "quarantined records" in done.stdout

    jsonl = reunify(["export", "--format", "jsonl", "--out", "-"], env)
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    exported = sorted(rid for row in rows for rid in row["child_record_ids"])
    assert exported == sorted(rid for t in small_world.truth for rid in t["child_record_ids"])

    out = tmp_path / "export.csv"
    assert reunify(["export", "--format", "csv", "--out", str(out)], env).returncode == 0
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["child_record_ids"] for r in table] == [";".join(r["child_record_ids"]) for r in rows]
    assert [r["status"] for r in table] == [r["status"] for r in rows]


def test_a_refused_token_exits_non_zero_naming_the_feed(simulator: FeedSimulator, tmp_path: Path) -> None:
    env = _env(simulator, tmp_path, REUNIFY_REMOVALS_TOKEN="not-the-right-one")
    done = reunify(["run"], env)
    assert done.returncode != 0
    assert "removals feed: token refused" in done.stderr
    assert "not-the-right-one" not in done.stdout + done.stderr


def test_export_before_any_successful_run_says_what_to_do(tmp_path: Path) -> None:
    env = {"REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    done = reunify(["export", "--format", "jsonl", "--out", "-"], env)
    assert done.returncode != 0
    assert "reunify run" in done.stderr


def test_a_run_without_feeds_configured_names_the_missing_variables(tmp_path: Path) -> None:
    done = reunify(["run"], {"REUNIFY_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert done.returncode != 0
    assert "REUNIFY_ORR_URL" in done.stderr


def test_a_run_refused_by_a_live_run_exits_75_so_a_scheduler_retries(
    simulator: FeedSimulator, tmp_path: Path
) -> None:
    env = _env(simulator, tmp_path)
    with Store(env["REUNIFY_DATABASE_URL"]) as store:
        live = stages.begin_run(store, load_settings(env, config_file=tmp_path / "none.toml"), "cli")
        done = reunify(["run"], env)
        assert done.returncode == ExitCode.IN_PROGRESS == 75, done.stderr
        assert f"run {live} is in progress" in done.stderr
        as_json = reunify(["run", "--json"], env)
        assert as_json.returncode == 75 and json.loads(as_json.stdout)["outcome"] == "not_started"


def test_output_into_a_closed_pipe_ends_quietly_with_141(simulator: FeedSimulator, tmp_path: Path) -> None:
    env = _env(simulator, tmp_path)
    assert reunify(["run"], env).returncode == 0
    # the reader is gone before the first write, as `| head` is after its lines
    proc = subprocess.Popen(
        [str(BIN / "reunify"), "export", "--format", "jsonl", "--out", "-"],
        env=process_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    errors = proc.stderr.read()
    assert proc.wait(timeout=60) == ExitCode.BROKEN_PIPE == 141
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


def test_version_and_exit_codes_are_in_the_help() -> None:
    version = reunify(["--version"], {})
    assert version.returncode == 0 and version.stdout.startswith("reunify ")
    assert version.stdout.split()[1][0].isdigit()
    helped = reunify(["--help"], {}).stdout
    for code in ExitCode:
        assert f"{int(code):>3}  " in helped, code


def test_a_usage_error_exits_2() -> None:
    assert reunify(["run", "--no-such-option"], {}).returncode == ExitCode.USAGE == 2
