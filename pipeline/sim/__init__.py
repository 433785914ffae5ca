"""Synthetic worlds, the feed simulator and the scorer, for the demo, tests and benchmarks.

``generate_world`` makes a world shaped like the shared sample, ``load_world`` reads one
(the sample included), ``mutate_world`` moves one forward for incremental runs, and ``score``
compares an export with a world's truth.
"""

from pipeline.sim.score import Score, score
from pipeline.sim.world import (
    ChildLink,
    Rates,
    World,
    compute_truth,
    generate_world,
    load_world,
    mutate_world,
)

__all__ = [
    "ChildLink",
    "Rates",
    "Score",
    "World",
    "compute_truth",
    "generate_world",
    "load_world",
    "mutate_world",
    "score",
]
