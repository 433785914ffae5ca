"""Comparison primitives: A-number tolerance, date-of-birth noise, Spanish surnames."""

from __future__ import annotations

from datetime import date

from pipeline.match.compare import (
    a_number_keys,
    a_number_near,
    dob_compatible,
    given_agree,
    name_near,
    prefix_near,
    suffix_near,
    surname_agree,
)


def test_a_number_one_digit_or_adjacent_swap() -> None:
    assert a_number_near("216707355", "216707355")
    assert a_number_near("216707355", "216707365")  # one digit
    assert a_number_near("216707355", "217607355")  # adjacent swap
    assert not a_number_near("216707355", "216707366")  # two digits
    assert not a_number_near("216707355", "206707365")


def test_a_number_keys_collide_for_tolerated_errors() -> None:
    assert set(a_number_keys("216707355")) & set(a_number_keys("216707365"))
    assert set(a_number_keys("216707355")) & set(a_number_keys("217607355"))


def test_dob_noise() -> None:
    real = date(1986, 9, 3)
    assert dob_compatible(real, date(1986, 3, 9))  # day and month swapped
    assert dob_compatible(real, date(1987, 9, 3))  # a year off
    assert dob_compatible(real, date(1986, 1, 1))  # placeholder 1 January
    assert not dob_compatible(real, date(1986, 9, 13))
    assert not dob_compatible(real, date(1988, 9, 3))


def test_name_typos() -> None:
    assert name_near("GARCIA", "GARCAI")
    assert name_near("MARIA", "MRIA")
    assert not name_near("ANA", "ANE")  # short names must agree exactly
    assert not name_near("ROSA", "ROSARIO")


def test_spanish_surnames_prefix_and_suffix() -> None:
    # child "Hernández García": father HERNANDEZ first, mother GARCIA second; merged tokens survive
    assert prefix_near("HERNANDEZ", "HERNANDEZGARCIA")
    assert suffix_near("GARCIA", "HERNANDEZGARCIA")
    assert prefix_near("BONILLA", "BONILLANHERNANDEZ")
    assert suffix_near("DIAZ", "MARTINEZDIAZ")
    assert not prefix_near("GARCIA", "HERNANDEZGARCIA")


def test_given_names_agree_when_a_record_drops_the_second_or_has_a_typo() -> None:
    assert given_agree(("MARIA", "JOSE"), ("MARIA",))
    assert given_agree(("JOSE",), ("MARIA", "JOSE"))  # the first of one is among the other's
    assert given_agree(("GUADALUPE",), ("GUADALUPR",))
    assert not given_agree(("MARIA",), ("ROSA", "MARIBEL"))
    assert not given_agree((), ("MARIA",))


def test_surnames_agree_on_the_first_one_or_run_together() -> None:
    assert surname_agree(("PEREZ", "SOTO"), ("PEREZ",))
    assert surname_agree(("GOMEZYPEREZ",), ("GOMEZ", "PEREZ"))  # merged into one token
    assert surname_agree(("MARTINEZD", "IAZ"), ("MARTINEZ", "DIAZ"))  # split off a letter
    assert not surname_agree(("SOTO", "PEREZ"), ("PEREZ", "SOTO"))
    assert not surname_agree(("PEREZ",), ())
