"""The contract's rule for a record id seen more than once, shared by the store and in-process runs."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from pipeline.records import (
    AdultRecord,
    ChildRecord,
    ClaimedChild,
    DnaResult,
    Quarantined,
    RemovalRecord,
    keep_latest,
    slot_init,
)


def test_the_latest_update_wins_and_the_later_copy_on_a_tie() -> None:
    into: dict[str, tuple[str, str]] = {}
    keep_latest(
        [
            ("A", "2018-06-02", "a-new"),
            ("A", "2018-06-01", "a-stale"),
            ("B", "", "b-first"),
            ("B", "", "b-second"),
        ],
        into,
    )
    keep_latest([("A", "2018-06-02", "a-tie-later")], into)
    assert into == {"A": ("2018-06-02", "a-tie-later"), "B": ("", "b-second")}


RECORD_CLASSES = [ClaimedChild, ChildRecord, AdultRecord, RemovalRecord, DnaResult, Quarantined]


def _plain(cls: type) -> Any:
    """``cls`` defined again as dataclasses alone makes it (its generated ``__init__``)."""
    return dataclasses.make_dataclass(
        cls.__name__,
        [
            (f.name, f.type, dataclasses.field(default=f.default, default_factory=f.default_factory))
            for f in dataclasses.fields(cls)
        ],
        frozen=True,
        slots=True,
    )


@pytest.mark.parametrize("cls", RECORD_CLASSES, ids=lambda c: c.__name__)
def test_slot_init_makes_the_record_dataclasses_would(cls: type) -> None:
    plain = _plain(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    required = [
        f.name for f in dataclasses.fields(cls) if f.default is f.default_factory is dataclasses.MISSING
    ]
    assert str(inspect.signature(cls.__init__)) == str(inspect.signature(plain.__init__))
    values = {name: f"v{i}" for i, name in enumerate(names)}
    made, reference = cls(**values), plain(**values)
    assert [getattr(made, n) for n in names] == [getattr(reference, n) for n in names]
    assert cls(*values.values()) == made
    # only the required fields: the defaults (and a fresh default_factory value) fill the rest
    minimal, reference = cls(**{n: values[n] for n in required}), plain(**{n: values[n] for n in required})
    assert [getattr(minimal, n) for n in names] == [getattr(reference, n) for n in names]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, names[0], "other")
    with pytest.raises(TypeError):
        cls(*values.values(), "one too many")
    assert dataclasses.replace(made, **{names[0]: "changed"}) == cls(**(values | {names[0]: "changed"}))
    assert pickle.loads(pickle.dumps(made)) == made


def test_slot_init_refuses_a_class_it_would_build_wrongly() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            raise AssertionError("never called by slot_init")

    with pytest.raises(TypeError):
        slot_init(Checked)
