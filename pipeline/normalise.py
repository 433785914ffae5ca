"""Normalisers shared by parsing and matching: A-numbers, names, dates, countries."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from functools import lru_cache

_NON_DIGIT = re.compile(r"\D")
_SPACES = re.compile(r"\s+")
_NON_ALPHA = re.compile(r"[^A-Z ]")


def a_number(value: object) -> str | None:
    """Nine-digit A-number from any of the feeds' spellings, or None when there is none.

    ``A-216-707-355``, ``A216707355``, ``216707355`` and ``A 216 707 355`` all give
    ``216707355``; eight-digit numbers are left-padded as USCIS does. Anything else is None.
    """
    if value is None:
        return None
    # most values are already nine ASCII digits: returned as they are, without the regex (a
    # third of a million of them a run at 20,000 children)
    if type(value) is str and len(value) == 9 and value.isascii() and value.isdigit():
        return value if value != "000000000" else None
    if not isinstance(value, str | int):
        raise TypeError("A-number must be a string")
    digits = _NON_DIGIT.sub("", str(value))
    if not digits or len(digits) > 9 or len(digits) < 8:
        return None
    digits = digits.zfill(9)
    if set(digits) == {"0"}:
        return None
    return digits


def fold(text: str | None) -> str:
    """Upper case, accents removed, only letters and single spaces: the key form of a name."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = _NON_ALPHA.sub(" ", stripped.upper())
    return _SPACES.sub(" ", cleaned).strip()


# Legitimate names have a handful of tokens ("María José", "López de la Cruz"). Matching loops
# over a record's tokens (blocking keys are given x surname x day): one name of thousands of
# tokens, or one token of a megabyte, would make a run super-linear, so every name is cut to
# these bounds before it is tokenised. The record itself (and the export) keeps the whole name.
MAX_NAME_CHARS = 200
"""Characters of a name field read for matching (the rest is ignored)."""
MAX_GIVEN_TOKENS = 8
"""Given-name tokens kept for matching."""
MAX_SURNAME_TOKENS = 6
"""Surname tokens kept for matching."""
MAX_FULL_NAME_TOKENS = MAX_GIVEN_TOKENS + MAX_SURNAME_TOKENS
"""Tokens kept of a whole name in one field (a claimed child's, a reported parent's)."""


def name_tokens(text: str | None, max_tokens: int = MAX_FULL_NAME_TOKENS) -> tuple[str, ...]:
    """The folded tokens of a name, at most ``max_tokens`` of them, read from at most
    ``MAX_NAME_CHARS`` characters: the one tokeniser of names that matching uses."""
    if not text:
        return ()
    folded = fold(text[:MAX_NAME_CHARS])
    if not folded:
        return ()
    parts = folded.split(" ", max_tokens * 2)[: max_tokens * 2]
    return tuple(_glue_particles(parts)[:max_tokens])


# "DE LA CRUZ" is one surname: a particle run and the word it introduces make one token, so the
# first surname of "DE LA CRUZ LOPEZ" is DELACRUZ, not DE (which every such name shares).
_PARTICLES = frozenset({"DE", "DEL", "LA", "LAS", "LOS"})


def _glue_particles(parts: list[str]) -> list[str]:
    if not _PARTICLES.intersection(parts):
        return parts
    out: list[str] = []
    run: list[str] = []
    for part in parts:
        if part in _PARTICLES:
            run.append(part)
            continue
        out.append("".join(run) + part)
        run = []
    out.extend(run)  # particles at the end (a cut name) stay as they are
    return out


def given_name_tokens(text: str | None) -> tuple[str, ...]:
    """A given-name field's tokens (at most ``MAX_GIVEN_TOKENS``)."""
    return name_tokens(text, MAX_GIVEN_TOKENS)


def surname_tokens(text: str | None) -> tuple[str, ...]:
    """A surname field's tokens (at most ``MAX_SURNAME_TOKENS``)."""
    return name_tokens(text, MAX_SURNAME_TOKENS)


def tokens(text: str | None) -> list[str]:
    """The folded tokens of a whole name (at most ``MAX_FULL_NAME_TOKENS``)."""
    return list(name_tokens(text))


@lru_cache(maxsize=4096)
def country(text: str | None) -> str | None:
    """Country in the removal list's form: upper case, no accents."""
    # a few hundred spellings across millions of records: cached
    folded = fold(text)
    return folded or None


def iso_date(value: object) -> date | None:
    """A date from ``YYYY-MM-DD`` (or an ISO datetime); None for null or empty; ValueError otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"date must be a string, got {type(value).__name__}")
    return _iso_date(value)


@lru_cache(maxsize=1 << 16)
def _iso_date(value: str) -> date:
    # feeds repeat a few thousand distinct dates over hundreds of thousands of records
    text = value.strip()
    if len(text) > 10 and text[10] in "T ":
        return iso_datetime(text).date()
    return date.fromisoformat(text)


def us_date(value: str | None) -> date | None:
    """A date from ``MM/DD/YYYY``; None for empty; ValueError otherwise."""
    if value is None or value.strip() == "":
        return None
    return _us_date(value)


@lru_cache(maxsize=1 << 16)
def _us_date(value: str) -> date:
    month, day, year = value.strip().split("/")
    return date(int(year), int(month), int(day))


def iso_datetime(value: object) -> datetime:
    """An aware UTC datetime from an ISO string (``Z`` accepted); ValueError otherwise."""
    if not isinstance(value, str) or not value:
        raise ValueError("timestamp missing or not a string")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def age_years(dob: date, as_of: date) -> int:
    """Whole years between a date of birth and the report date."""
    years = as_of.year - dob.year
    if (as_of.month, as_of.day) < (dob.month, dob.day):
        years -= 1
    return years


US_NAMES = frozenset(
    {"UNITED STATES", "UNITED STATES OF AMERICA", "USA", "US", "ESTADOS UNIDOS", "EEUU", "U S A"}
)


def is_us(country: str | None) -> bool:
    """True for the spellings of the United States."""
    return country is not None and fold(country) in US_NAMES
