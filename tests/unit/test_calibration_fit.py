"""The calibration fit (``bench.calibration_fit``) recovers the map that made its links."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

from pipeline.match.link import Calibration

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout, for bench/
from bench.calibration_fit import Scored, fit


def test_fit_recovers_the_weights_of_links_drawn_from_a_known_map() -> None:
    truth = Calibration(log_odds=0.8, log_people=-0.2, intercept=2.0)
    rng = random.Random(5)
    links = []
    for _ in range(20_000):
        posterior = rng.uniform(0.7, 0.9999)
        people = rng.choice((17_700, 60_000, 154_400))
        right = rng.random() < truth.score(posterior, people)
        links.append(Scored(posterior, right, people))
    got = fit(links)
    assert math.isclose(got.log_odds, truth.log_odds, abs_tol=0.08)
    assert math.isclose(got.log_people, truth.log_people, abs_tol=0.08)
    assert math.isclose(got.intercept, truth.intercept, abs_tol=0.9)


def test_fitted_score_falls_with_the_people_count_when_larger_worlds_are_wronger() -> None:
    rng = random.Random(9)
    links = []
    for people, share_right in ((17_700, 0.95), (154_400, 0.80)):
        for _ in range(3_000):
            links.append(Scored(rng.uniform(0.9, 0.95), rng.random() < share_right, people))
    got = fit(links)
    assert got.log_people < 0
    small = got.score(0.92, 17_700)
    large = got.score(0.92, 154_400)
    assert abs(small - 0.95) < 0.02 and abs(large - 0.80) < 0.02
