"""Synthetic worlds: the four feeds' payloads plus the answer a correct reconciliation gives.

The generator reproduces the structure and noise measured on the sample world
(``../shared/samples``): families apprehended together (one adult, one to three children),
re-referred children, duplicate ICE records with a stale custody status, parents on the removal
list, DNA results, many unrelated adults who share names, countries, apprehension dates and
stations with the parents, and a few malformed records per feed. The truth is not written by
the generator directly: :func:`compute_truth` derives it from the payloads (as served) and the
hidden identity links, by the contract's business rules (CONTRACT.md section 4), so the same
function scores the sample, generated worlds and mutated worlds.

Rates live in :class:`Rates`; their defaults are the sample's measured frequencies.

The package: ``model`` (the world, its files, loading), ``truth`` (the oracle), ``rates`` and
``generate`` (the generator), ``mutate`` (later states). Import from here.
"""

from pipeline.results import RESOLVED_STATES, STATUSES
from pipeline.sim.world.generate import generate_world
from pipeline.sim.world.model import (
    DEFAULT_AS_OF,
    FEEDS,
    FILES,
    REMOVALS_HEADER,
    ChildLink,
    World,
    find_malformed,
    load_world,
)
from pipeline.sim.world.mutate import mutate_world
from pipeline.sim.world.rates import Rates
from pipeline.sim.world.truth import compute_truth

__all__ = [
    "DEFAULT_AS_OF",
    "FEEDS",
    "FILES",
    "REMOVALS_HEADER",
    "RESOLVED_STATES",
    "STATUSES",
    "ChildLink",
    "Rates",
    "World",
    "compute_truth",
    "find_malformed",
    "generate_world",
    "load_world",
    "mutate_world",
]
