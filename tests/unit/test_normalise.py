from datetime import UTC, date, datetime

import pytest

from pipeline import normalise


@pytest.mark.parametrize("raw", ["A-216-707-355", "A216707355", "216707355", "A 216 707 355", "a216707355"])
def test_a_number_spellings_normalise_to_nine_digits(raw: str) -> None:
    assert normalise.a_number(raw) == "216707355"


@pytest.mark.parametrize("raw", [None, "", "A", "A-000-000-000", "000000000", "12345", "1234567890"])
def test_a_number_without_a_usable_number_is_none(raw: str | None) -> None:
    assert normalise.a_number(raw) is None


def test_eight_digit_a_number_is_left_padded() -> None:
    assert normalise.a_number("A12345678") == "012345678"


def test_a_number_of_wrong_type_is_an_error() -> None:
    with pytest.raises(TypeError):
        normalise.a_number(["A216707355"])


def test_fold_removes_accents_case_and_punctuation() -> None:
    assert normalise.fold("  José-María  López  García ") == "JOSE MARIA LOPEZ GARCIA"
    assert normalise.tokens("Ángel José") == ["ANGEL", "JOSE"]
    assert normalise.fold(None) == ""


def test_dates_in_both_feed_formats() -> None:
    assert normalise.iso_date("2018-06-19") == date(2018, 6, 19)
    assert normalise.iso_date("2018-06-19T10:00:00Z") == date(2018, 6, 19)
    assert normalise.us_date("07/06/2018") == date(2018, 7, 6)
    assert normalise.us_date("") is None
    with pytest.raises(ValueError):
        normalise.iso_date("19/06/2018")
    with pytest.raises(ValueError):
        normalise.us_date("2018-07-06")


def test_timestamps_become_aware_utc() -> None:
    assert normalise.iso_datetime("2018-06-21T21:56:00Z") == datetime(2018, 6, 21, 21, 56, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dob", "as_of", "years"),
    [(date(2013, 7, 12), date(2018, 7, 12), 5), (date(2013, 7, 13), date(2018, 7, 12), 4)],
)
def test_age_in_whole_years(dob: date, as_of: date, years: int) -> None:
    assert normalise.age_years(dob, as_of) == years


def test_cached_date_parsers_still_reject_bad_input_every_time() -> None:
    for _ in range(2):  # the second call goes through the cache
        assert normalise.iso_date("2018-06-01") == date(2018, 6, 1)
        assert normalise.us_date("06/01/2018") == date(2018, 6, 1)
        with pytest.raises(ValueError):
            normalise.iso_date("2018-13-01")
        with pytest.raises(ValueError):
            normalise.us_date("13/45/2018")
        with pytest.raises(ValueError):
            normalise.iso_date(["2018-06-01"])


def test_a_name_of_thousands_of_tokens_is_capped_for_matching() -> None:
    huge = " ".join(f"Nombre{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}" for i in range(5000))
    assert len(normalise.given_name_tokens(huge)) == normalise.MAX_GIVEN_TOKENS == 8
    assert len(normalise.surname_tokens(huge)) == normalise.MAX_SURNAME_TOKENS == 6
    assert len(normalise.name_tokens(huge)) == normalise.MAX_FULL_NAME_TOKENS
    assert len(normalise.tokens(huge)) == normalise.MAX_FULL_NAME_TOKENS
    assert normalise.given_name_tokens(huge)[:2] == ("NOMBREAA", "NOMBREBA")


def test_one_enormous_token_is_cut_to_the_name_length_bound() -> None:
    (token,) = normalise.name_tokens("X" * 1_000_000)
    assert len(token) == normalise.MAX_NAME_CHARS


def test_ordinary_names_are_tokenised_whole() -> None:
    assert normalise.given_name_tokens("María José Guadalupe") == ("MARIA", "JOSE", "GUADALUPE")
    assert normalise.surname_tokens("López de la Cruz") == ("LOPEZ", "DELACRUZ")  # one surname
    assert normalise.name_tokens("  ") == ()
    assert normalise.name_tokens(None) == ()
