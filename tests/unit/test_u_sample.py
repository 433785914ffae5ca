"""The u-probabilities' sample is drawn by the records' identity (issue 17 item 6): a few children
more or fewer change only the draws that landed on them, not the whole sample."""

from __future__ import annotations

from collections import Counter

from pipeline.match.model import U_SAMPLE_PAIRS, sample_pairs

CHILDREN = [f"ORR-{i:07d}" for i in range(20_000)]
PEOPLE = [f"ICE-{i:08d}" for i in range(150_000)]


def _named(pairs: list[tuple[int, int]], children: list[str], people: list[str]) -> list[tuple[str, str]]:
    return [(children[i], people[p]) for i, p in pairs]


def test_the_sample_draws_every_pair_by_the_records_keys() -> None:
    pairs = sample_pairs(CHILDREN, PEOPLE, seed=0)
    assert len(pairs) == U_SAMPLE_PAIRS
    assert pairs == sample_pairs(CHILDREN, PEOPLE, seed=0)
    assert pairs != sample_pairs(CHILDREN, PEOPLE, seed=1)
    # the draws spread over the children and people (no key takes a large share)
    mean = U_SAMPLE_PAIRS / len(CHILDREN)
    assert Counter(i for i, _ in pairs).most_common(1)[0][1] < 10 * max(mean, 1.0)
    assert len({i for i, _ in pairs}) > 0.6 * min(len(CHILDREN), U_SAMPLE_PAIRS)


def test_a_few_children_merged_away_change_only_their_own_draws() -> None:
    before = _named(sample_pairs(CHILDREN, PEOPLE), CHILDREN, PEOPLE)
    gone = set(CHILDREN[::500])  # 40 children (0.2%), spread over the whole key range
    fewer = [c for c in CHILDREN if c not in gone]
    after = _named(sample_pairs(fewer, PEOPLE), fewer, PEOPLE)
    changed = sum(x != y for x, y in zip(before, after, strict=True))
    assert 0 < changed <= 0.01 * U_SAMPLE_PAIRS
    # every changed draw is one that had landed on a child now gone
    assert all(x[0] in gone for x, y in zip(before, after, strict=True) if x != y)


def test_a_person_more_changes_only_the_draws_that_land_on_it() -> None:
    before = _named(sample_pairs(CHILDREN, PEOPLE), CHILDREN, PEOPLE)
    more = [*PEOPLE[:70_000], "ICE-NEW00001", *PEOPLE[70_000:]]  # every later index moves by one
    after = _named(sample_pairs(CHILDREN, more), CHILDREN, more)
    changed = [(x, y) for x, y in zip(before, after, strict=True) if x != y]
    assert all(y[1] == "ICE-NEW00001" for _, y in changed)
    assert len(changed) < 10
