"""The cyclic collector sleeps while a matching step works, and wakes only once the step's
working state is freed: its first pass then walks what the step returned, not all it built."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from pipeline.reconcile import no_gc_pauses, without_gc_pauses


class _State:
    """Stands for a step's working state (weakly referenceable, unlike a list)."""


@pytest.fixture
def state_alive_at_collections() -> Iterator[tuple[list[bool], Callable[[weakref.ref[_State]], None]]]:
    """Whether the watched state was alive at each collection's start, and how to watch it."""
    seen: list[bool] = []
    watched: list[weakref.ref[_State]] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and watched:
            seen.append(watched[0]() is not None)

    gc.collect()
    gc.callbacks.append(callback)
    try:
        yield seen, watched.append
    finally:
        gc.callbacks.remove(callback)


def _build(keep: list[object]) -> weakref.ref[_State]:
    state = _State()
    # more young containers than a collection waits for: one is due the moment it may run
    keep.extend([state, *([] for _ in range(5 * gc.get_threshold()[0]))])
    return weakref.ref(state)


def test_a_step_runs_with_the_collector_asleep_and_leaves_it_awake() -> None:
    @without_gc_pauses
    def step() -> bool:
        return gc.isenabled()

    assert gc.isenabled()
    assert step() is False
    assert gc.isenabled()


def test_the_collector_wakes_after_the_steps_working_state_is_freed(
    state_alive_at_collections: tuple[list[bool], Callable[[weakref.ref[_State]], None]],
) -> None:
    seen, watch = state_alive_at_collections

    @without_gc_pauses
    def step() -> int:
        working: list[object] = []
        watch(_build(working))
        return len(working)

    assert step() > 0
    _ = [[] for _ in range(2 * gc.get_threshold()[0])]  # the allocations that wake it
    assert seen and not any(seen)


def test_woken_inside_the_step_the_collector_would_walk_its_working_state(
    state_alive_at_collections: tuple[list[bool], Callable[[weakref.ref[_State]], None]],
) -> None:
    # the pattern the decorator replaces: the precondition of the test above is real
    seen, watch = state_alive_at_collections

    def step() -> int:
        with no_gc_pauses():
            working: list[object] = []
            watch(_build(working))
            return len(working)

    assert step() > 0
    _ = [[] for _ in range(2 * gc.get_threshold()[0])]
    assert seen and seen[0]
