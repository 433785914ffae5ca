"""Noise profiles: named generator rates, so a world's kind of noise is chosen by one word.

``default`` is the sample's measured mix (worlds exactly as before profiles existed). ``hard``
switches on the phenomena real case files show and the sample is too small to measure: particle
and compound surnames, single-surname children of their mother, re-referrals without apprehension
data, one-sided typos between ICE and removals, swapped A-number pairs, duplicate ICE records
without a date of birth. ``sparse`` is ``hard`` with thinner evidence (fewer event ids and DNA
results, more missing stations): the profile nobody tunes on, only measures.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.errors import ConfigError
from pipeline.sim.world.rates import Rates

DEFAULT = Rates()
HARD = replace(
    DEFAULT,
    particle_surname=0.06,
    single_surname_mother=0.12,
    re_referral=0.05,
    re_referral_bare=0.6,
    removal_typo_surname=0.10,
    removal_a_swap=0.05,
    duplicate_ice=0.05,
    duplicate_ice_no_dob=0.6,
)
SPARSE = replace(
    HARD,
    child_event_id=0.15,
    parent_event_id=0.60,
    other_event_id=0.60,
    child_station=0.60,
    parent_station=0.65,
    other_station=0.65,
    dna_tested=0.25,
)

PROFILES: dict[str, Rates] = {"default": DEFAULT, "hard": HARD, "sparse": SPARSE}


def rates_for(profile: str) -> Rates:
    """The generator rates of a named profile; an unknown name is a ConfigError naming the known ones."""
    try:
        return PROFILES[profile]
    except KeyError:
        raise ConfigError(f"unknown world profile {profile!r}: use one of {', '.join(PROFILES)}") from None


__all__ = ["PROFILES", "rates_for"]
