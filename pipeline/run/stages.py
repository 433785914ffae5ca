"""The vocabulary of a run's stages and steps: which stages a run goes through, in order, and
the step names of each (``fetch:orr``, ``prepare``, ``match:0``, ``finish``, ``publish``)."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.progress import ProgressFn
from pipeline.settings import FEEDS

# An in-process run reconciles in one stage; through workers the reconciliation is three stages:
# prepare (global), match (one step per partition, any worker), finish (global).
FETCH, RECONCILE, PUBLISH = "fetch", "reconcile", "publish"
PREPARE, MATCH, FINISH = "prepare", "match", "finish"


def fetch_step(feed: str) -> str:
    """The step name of one feed's fetch (``fetch:orr``)."""
    return f"{FETCH}:{feed}"


def match_step(number: int) -> str:
    """The step name of one matching partition (``match:0``)."""
    return f"{MATCH}:{number}"


FETCH_STEPS: tuple[str, ...] = tuple(fetch_step(feed) for feed in FEEDS)
# the stages of a run through workers, in order
NEXT_STAGE: dict[str, str] = {FETCH: PREPARE, PREPARE: MATCH, MATCH: FINISH, FINISH: PUBLISH}


def stage_steps(stage: str, partitions: int) -> tuple[str, ...]:
    """The steps of one stage of a run whose matching has ``partitions`` partitions."""
    if stage == FETCH:
        return FETCH_STEPS
    if stage == MATCH:
        return tuple(match_step(n) for n in range(partitions))
    return (stage,)


def stage_of(step: str) -> str:
    """The stage a step belongs to (``fetch:orr`` → ``fetch``)."""
    return step.split(":", 1)[0]


def no_progress(_stage: str, _feed: str | None, _counts: Mapping[str, int] | None) -> None:
    """A ProgressFn that reports nothing: the stage functions' default."""
    return None


quiet: ProgressFn = no_progress  # the progress of a run nobody watches
