"""Generator probabilities (the defaults are the sample world's measured frequencies)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rates:
    """Generator probabilities; defaults are the frequencies measured on the sample world."""

    # families
    family_sizes: tuple[float, ...] = (0.70, 0.24, 0.06)  # 1, 2, 3 children in ORR care
    parent_female: float = 0.70
    parent_absent: float = 0.02  # the parent is in no feed: no_parent_match
    fraud: float = 0.04  # the adult is not the parent: DNA exclusion
    no_evidence: float = 0.012  # child with no apprehension, reported parent, claim or DNA
    re_referral: float = 0.02  # a child with a second ORR record
    us_born: float = 0.025
    two_given: float = 0.42
    # parent custody outcome (latest event): detained, released, removed, criminal custody
    outcomes: tuple[float, ...] = (0.55, 0.18, 0.20, 0.07)
    removed_kinds: tuple[float, ...] = (0.45, 0.45, 0.10)  # ICE+row, row only, ICE only
    removal_tie: float = 0.08  # removal row dated the same day as the latest ICE record
    duplicate_ice: float = 0.02  # parent with a stale second ICE record
    serious: float = 0.07
    non_serious: float = 0.12
    history_unknown: float = 0.035
    medical_hold: float = 0.022
    # children's discharges (only when the parent is detained without safety flags)
    reunified: float = 0.26
    released_to_sponsor: float = 0.09
    aged_out: float = 0.25  # for 16- and 17-year-olds
    other_discharge: float = 0.04
    absent_discharge: float = 0.25
    # DNA
    dna_tested: float = 0.47
    dna_results: tuple[float, ...] = (0.81, 0.13, 0.06)  # match, pending, inconclusive
    dna_child_a_number: float = 0.78
    # ORR record noise
    child_a_null: float = 0.05
    child_a_empty: float = 0.074
    child_sex_null: float = 0.02
    child_no_apprehension: float = 0.10
    child_event_id: float = 0.33
    child_app_date: float = 0.89
    child_station: float = 0.81
    # child's apprehension date minus the parent's: (days, probability)
    child_date_shift: tuple[tuple[int, float], ...] = (
        (0, 0.45),
        (-1, 0.32),
        (1, 0.14),
        (-2, 0.07),
        (2, 0.02),
    )
    reported_parent: float = 0.54
    reported_parent_forms: tuple[float, ...] = (0.20, 0.46, 0.30, 0.04)  # given, +surname, 3, 4 tokens
    child_drop_given: float = 0.10
    child_drop_surname: float = 0.13
    single_mother_surnames: float = 0.16
    accents_kept: float = 0.75
    typo_child: float = 0.05  # per name field
    typo_reported: float = 0.07
    # ICE record noise
    a_null: float = 0.02
    a_empty: float = 0.03
    adult_drop_given: float = 0.30
    adult_drop_surname: float = 0.24
    typo_adult: float = 0.06  # per name field
    parent_event_id: float = 0.91
    parent_station: float = 0.85
    claims_made: float = 0.70
    claim_child: float = 0.95
    claim_extra: tuple[float, ...] = (0.70, 0.25, 0.05)  # 0, 1, 2 children not in ORR care
    claim_upper: float = 0.50
    claim_two_given: float = 0.30
    claim_dob: float = 0.50
    typo_claim: float = 0.08
    # dates of birth
    dob_null_child: float = 0.05
    dob_null_adult: float = 0.025
    dob_jan1: float = 0.06
    dob_jan1_parent: float = 0.085  # parents' ICE records use the placeholder more often
    dob_swap: float = 0.02
    dob_year: float = 0.02
    # unrelated adults and removals
    adults_per_child: float = 7.0
    removal_rows_per_child: float = 6.96
    other_female: float = 0.27
    other_no_apprehension: float = 0.30
    other_event_id: float = 0.89
    other_station: float = 0.83
    other_outcomes: tuple[float, ...] = (0.60, 0.16, 0.14, 0.10)
    other_removal_row: float = 0.74
    other_serious: float = 0.09
    other_non_serious: float = 0.15
    other_history_unknown: float = 0.055
    other_medical_hold: float = 0.01
    other_claims: float = 0.06
    removal_a_empty: float = 0.052
    # A clerk's slip: one digit changed, or two neighbours swapped (the contract warns of it; the
    # sample is too small to show it, so the rate is a guess kept low).
    a_miskey: float = 0.02
    removal_dob_empty: float = 0.02
    removal_drop_surname: float = 0.25
    # malformed records per record served
    malformed_orr: float = 0.015
    malformed_ice: float = 0.0013
    malformed_removals: float = 0.0003
    malformed_dna: float = 0.004
    # Phenomena of real case files the sample is too small to show; all off by default so the
    # default worlds stay as they were (pipeline/sim/profiles.py switches them on).
    particle_surname: float = 0.0  # a person's surname is a particle form (DE LA CRUZ, DEL CID)
    single_surname_mother: float = 0.0  # the mother's child carries her first surname only
    # one child of a mother's family of two or more carries her first surname only while its
    # siblings carry both parents' (another father, or registered by her alone)
    sibling_mother_only: float = 0.0
    # a re-referral's second record with no apprehension data nor A-number, written another way
    re_referral_bare: float = 0.0
    removal_typo_surname: float = 0.0  # the parent's removal row: a surname typo ICE does not have
    removal_a_swap: float = 0.0  # the parent's removal row: two neighbouring A-number digits swapped
    duplicate_ice_no_dob: float = 0.0  # a parent's duplicate ICE record without a date of birth
