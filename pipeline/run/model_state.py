"""The frozen model state of a run (issue 19 item 3): which model a run reconciles under.

A full run estimates the model (u/m weights, name-frequency tables) from its own records. An
incremental or --no-fetch run reuses the model state of the last good run, so that a small
change of the feeds does not move every child's weights, unless that state is
``REUNIFY_MODEL_MAX_AGE_DAYS`` old or more (counted from the day it was estimated), was written
by another version of the matcher, or is missing (a run published before model states were
kept): then it is estimated afresh. Every run keeps the state it used (``MODEL_STATE_ARTIFACT``,
kept after publish and pruned with the run), naming the run that estimated it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pipeline import jsontext
from pipeline.errors import MatchStateError, StoreError
from pipeline.logging import get_logger
from pipeline.match.model import Model
from pipeline.match.state import (
    MODEL_STATE_ARTIFACT,
    ModelState,
    model_state_from_json,
    model_state_to_json,
)
from pipeline.no_fetch import REVIEW_TRIGGER
from pipeline.store import RunInfo, Store

log = get_logger(__name__)


def today() -> date:
    """The UTC date a model state is dated by (a function, so that tests can age a state)."""
    return datetime.now(UTC).date()


def frozen_state(store: Store, run: RunInfo, max_age_days: int) -> ModelState | None:
    """The model state ``run`` links under instead of estimating one: the last good run's, for an
    incremental run or a run without fetching (trigger ``review``) — one rule for the in-process
    and the workers' runs — when ``reusable_state`` allows it; None for every other run."""
    if run.mode != "incremental" and run.trigger != REVIEW_TRIGGER:
        return None
    return reusable_state(store, max_age_days)


def reusable_state(store: Store, max_age_days: int, on: date | None = None) -> ModelState | None:
    """The last good run's model state if a run may reuse it on ``on`` (default today), else None
    (none kept, too old, or written by another version of the matcher: logged, not an error)."""
    source = store.latest_succeeded_run()
    if source is None:
        return None
    try:
        state = model_state_from_json(jsontext.loads(store.get_artifact(source.id, MODEL_STATE_ARTIFACT)))
    except StoreError:
        log.info("model.reestimate", reason="no model state kept", source_run=source.id)
        return None
    except MatchStateError:
        log.info("model.reestimate", reason="model state of another matcher version", source_run=source.id)
        return None
    age = ((on or today()) - state.estimated_on).days
    if age >= max_age_days:
        log.info("model.reestimate", reason="model state too old", age_days=age, max_age_days=max_age_days)
        return None
    return state


def keep_state(store: Store, run_id: str, model: Model, reused: ModelState | None) -> ModelState:
    """Save the model state ``run_id`` reconciled under: ``reused`` as it was, or ``model`` as
    estimated by this run today."""
    state = reused if reused is not None else ModelState(model, run_id, today())
    store.put_artifact(run_id, MODEL_STATE_ARTIFACT, jsontext.dumps(model_state_to_json(state)))
    return state
