"""A page shows a redirect's notice only when it is one the console sends."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from pipeline.web.notices import DECISION_NOTICE, RUN_NOTICE, notice


def _request(text: str) -> Request:
    return Request({"type": "http", "query_string": urlencode({"notice": text}).encode(), "headers": []})


def test_the_consoles_own_notices_are_shown() -> None:
    assert (
        notice(_request("run 0123456789ab started (review)"), RUN_NOTICE)
        == "run 0123456789ab started (review)"
    )
    assert notice(_request("run 0123456789ab cancelled"), RUN_NOTICE) == "run 0123456789ab cancelled"
    assert notice(_request("confirmed"), DECISION_NOTICE) == "confirmed"


def test_any_other_text_in_the_link_is_not() -> None:
    for text in (
        "Call 555-0100 to confirm your password",
        "confirmed. Now call 555-0100",
        "run x started (review)",
    ):
        assert notice(_request(text), RUN_NOTICE) == "" and notice(_request(text), DECISION_NOTICE) == ""
