"""The feed simulator speaks the contract: routes, auth, paging, filters, faults, controls, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from feed_fixtures import csv_rows, synthetic_payloads

from pipeline.sim.payloads import WorldPayloads, load_payloads, save_payloads
from pipeline.sim.server import FaultConfig, FeedSimulator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim() -> Iterator[FeedSimulator]:
    with FeedSimulator(synthetic_payloads(), dna_page_size=10) as simulator:
        yield simulator


def get(
    sim: FeedSimulator, feed: str, path: str, token: str | None = None, **params: str | int
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token if token is not None else sim.tokens[feed]}"}
    return requests.get(sim.urls[feed] + path, params=params, headers=headers, timeout=5)


def test_each_feed_has_its_own_root_and_token(sim: FeedSimulator) -> None:
    assert len(set(sim.tokens.values())) == 4
    assert sim.env()["REUNIFY_ICE_URL"] == f"http://127.0.0.1:{sim.port}/ice"
    assert get(sim, "orr", "/v1/children").status_code == 200
    assert get(sim, "orr", "/v1/children", token=sim.tokens["ice"]).status_code == 401
    assert requests.get(sim.urls["orr"] + "/v1/children", timeout=5).status_code == 401
    assert get(sim, "orr", "/v1/detainees").status_code == 404
    assert sim.counts("orr") == {"ok": 1, "401": 2}


def test_orr_cursor_pages_and_limits(sim: FeedSimulator) -> None:
    first = get(sim, "orr", "/v1/children", limit=10).json()
    assert len(first["children"]) == 10 and isinstance(first["next_cursor"], str)
    second = get(sim, "orr", "/v1/children", limit=10, cursor=first["next_cursor"]).json()
    assert second["children"] == synthetic_payloads().orr[10:20]
    for bad in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"cursor": "%%%"}, {"updated_since": "nope"}):
        assert get(sim, "orr", "/v1/children", **bad).status_code == 400, bad


def test_ice_numbered_pages(sim: FeedSimulator) -> None:
    body = get(sim, "ice", "/v1/detainees", page=2, per_page=20).json()
    payloads = synthetic_payloads()
    assert body["page"] == 2 and body["per_page"] == 20 and body["total"] == len(payloads.ice)
    assert body["detainees"] == payloads.ice[20:40]
    assert get(sim, "ice", "/v1/detainees", per_page=501).status_code == 400
    assert get(sim, "ice", "/v1/detainees", page=99).json()["detainees"] == []


def test_dna_link_header_and_removals_csv(sim: FeedSimulator) -> None:
    response = get(sim, "dna", "/v1/results")
    assert len(response.json()["results"]) == 10
    following = requests.get(
        response.links["next"]["url"], headers={"Authorization": f"Bearer {sim.tokens['dna']}"}, timeout=5
    )
    assert following.json()["results"] == synthetic_payloads().dna[10:20]

    csv_response = get(sim, "removals", "/v1/removals.csv", since="2018-05-01")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert csv_response.headers["Transfer-Encoding"] == "chunked"
    assert csv_response.text.startswith("REMOVAL_ID,A_NUMBER,")
    assert get(sim, "removals", "/v1/removals.csv", since="05/01/2018").status_code == 400


def test_faults_are_deterministic_and_switchable(sim: FeedSimulator) -> None:
    def outcomes() -> list[tuple[int, str | None]]:
        seen: list[tuple[int, str | None]] = []
        for page in range(1, 30):
            try:
                response = get(sim, "ice", "/v1/detainees", page=page, per_page=2)
                seen.append((response.status_code, response.headers.get("Retry-After")))
            except requests.RequestException as exc:  # dropped before or in the middle of the body
                seen.append((0, type(exc).__name__))
        return seen

    sim.set_faults(FaultConfig(rate=0.5, retry_after=0.5, seed=11))
    run1 = outcomes()
    sim.set_faults(FaultConfig(rate=0.5, retry_after=0.5, seed=11))
    assert outcomes() == run1
    assert {status for status, _ in run1} >= {200, 429, 0}
    assert all(header == "0.5" for status, header in run1 if status == 429)
    sim.set_faults(rate=0.0, wrong_token=True)
    assert get(sim, "ice", "/v1/detainees").status_code == 401
    sim.set_faults(wrong_token=False)
    assert get(sim, "ice", "/v1/detainees").status_code == 200


def test_payloads_can_be_swapped_and_round_trip_through_a_directory(
    sim: FeedSimulator, tmp_path: Path
) -> None:
    payloads = synthetic_payloads()
    directory = save_payloads(payloads, tmp_path / "world")
    loaded = load_payloads(directory)
    assert loaded.orr == payloads.orr and loaded.dna == payloads.dna
    assert csv_rows(loaded.removals_csv) == csv_rows(payloads.removals_csv)
    sim.set_payloads(WorldPayloads(orr=payloads.orr[:3], ice=[], removals_csv="", dna=[]))
    assert len(get(sim, "orr", "/v1/children").json()["children"]) == 3
    assert get(sim, "ice", "/v1/detainees").json()["total"] == 0


def test_cli_prints_the_env_to_export(tmp_path: Path) -> None:
    directory = save_payloads(synthetic_payloads(), tmp_path / "world")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline.sim.server",
            "--world",
            str(directory),
            "--port",
            "0",
            "--stable-tokens",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(10)]
        assert "dev tool" in lines[0]
        env = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[1:9])
        assert env["REUNIFY_ORR_TOKEN"] == "sim-orr-token"
        response = requests.get(
            env["REUNIFY_ORR_URL"] + "/v1/children",
            headers={"Authorization": "Bearer sim-orr-token"},
            timeout=5,
        )
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
