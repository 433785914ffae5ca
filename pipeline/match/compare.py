"""Small comparison primitives shared by the matchers: names, dates of birth, A-numbers.

Everything here works on the key forms of :mod:`pipeline.normalise` (folded upper-case tokens,
nine-digit A-numbers) and is cheap enough to run on every candidate pair.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pipeline import normalise


def within_one_edit(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with at most one substitution, insertion, deletion or adjacent swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    if la > lb:
        a, b, la, lb = b, a, lb, la
    # b is one longer: skip one of its characters
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def name_near(a: str, b: str) -> bool:
    """Two name tokens that are the same or one typo apart. Below four letters only a letter
    dropped or added counts (ROSA, RSA; CRUZ, CRZ; ANA, NA): with a letter changed a short name
    is easily another one (ANA, AVA, EVA), with a letter lost it seldom is. Left unmatched, those
    slips split children's records and kept parents' removal rows apart on every generated
    profile (bench/README.md)."""
    if a == b:
        return True
    short = min(len(a), len(b))
    if short < 4 and (short < 2 or max(len(a), len(b)) != short + 1):
        return False
    return within_one_edit(a, b)


def any_near(token: str, others: tuple[str, ...] | list[str] | set[str] | frozenset[str]) -> bool:
    """True when ``token`` is near any of ``others``."""
    if token in others:
        return True
    return any(name_near(token, other) for other in others)


def given_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two records' given-name tokens name the same person: the first ones near each other, or
    one's first among the other's tokens (a record may drop the second given name)."""
    if not a or not b:
        return False
    return name_near(a[0], b[0]) or a[0] in b or b[0] in a


def surname_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two records' surname tokens name the same family: the first ones near each other, or one's
    first beginning the other's surnames run together (merged or split surnames)."""
    if not a or not b:
        return False
    if name_near(a[0], b[0]):
        return True
    return "".join(a).startswith(b[0]) or "".join(b).startswith(a[0])


def prefix_near(token: str, joined: str) -> bool:
    """``token`` begins ``joined`` (a surname string with its spaces removed), one typo allowed.

    Comparing against the joined string survives records that merged two surnames or split one
    (``BONILLANHERNANDEZ``, ``MARTINEZD IAZ``).
    """
    n = len(token)
    if joined.startswith(token):
        return True
    if n < 4:
        return False
    return any(within_one_edit(token, joined[: n + k]) for k in (-1, 0, 1) if n + k <= len(joined))


def suffix_near(token: str, joined: str) -> bool:
    """``token`` ends ``joined``, one typo allowed (see :func:`prefix_near`)."""
    n = len(token)
    if joined.endswith(token):
        return True
    if n < 4:
        return False
    return any(
        within_one_edit(token, joined[len(joined) - n - k :]) for k in (-1, 0, 1) if n + k <= len(joined)
    )


def placeholder_dob(d: date) -> bool:
    """A date of birth that is the feeds' placeholder 1 January (only the year is known)."""
    return (d.month, d.day) == (1, 1)


def dob_compatible(a: date, b: date) -> bool:
    """The same date of birth up to the feeds' noise: placeholder 1 January, day/month swap, a year off."""
    if a == b:
        return True
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return True
    if (a.month, a.day) == (b.month, b.day) and abs(a.year - b.year) == 1:
        return True
    return abs(a.year - b.year) <= 1 and (placeholder_dob(a) or placeholder_dob(b))


def dob_exact_or_swap(a: date, b: date) -> bool:
    """The same date of birth, or the same with day and month swapped."""
    return a == b or (a.year == b.year and a.month == b.day and a.day == b.month)


def a_number_near(a: str, b: str) -> bool:
    """Two nine-digit A-numbers equal up to one mis-keyed digit or one adjacent transposition."""
    if a == b:
        return True
    if len(a) != len(b):
        return False
    # one wrong digit or one adjacent swap leaves the first four or the last four digits alone:
    # a cheap test that turns away almost every pair before the digit-by-digit one
    if a[:4] != b[:4] and a[-4:] != b[-4:]:
        return False
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diffs) == 1:
        return True
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )


def a_number_keys(value: str) -> list[str]:
    """Blocking keys under which A-numbers one mis-keyed digit or swap apart collide.

    Masking each adjacent pair of positions covers both a single wrong digit (at either position
    of the pair) and a swap of the pair, with eight keys per number.
    """
    return [f"{i}:{value[:i]}{value[i + 2 :]}" for i in range(len(value) - 1)]


@lru_cache(maxsize=1 << 18)
def given_tokens(first_name: str) -> tuple[str, ...]:
    """The folded given-name tokens (capped: :func:`pipeline.normalise.given_name_tokens`)."""
    return normalise.given_name_tokens(first_name)


@lru_cache(maxsize=1 << 18)
def surname_tokens(last_name: str) -> tuple[str, ...]:
    """The folded surname tokens (capped: :func:`pipeline.normalise.surname_tokens`)."""
    return normalise.surname_tokens(last_name)


@lru_cache(maxsize=1 << 18)
def full_name_tokens(name: str) -> tuple[str, ...]:
    """The folded tokens of a whole name in one field, as a claimed child's or a reported parent's
    (capped: :func:`pipeline.normalise.name_tokens`)."""
    return normalise.name_tokens(name)
