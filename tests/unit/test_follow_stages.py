"""Following a run through workers: a stage that began and ended between two polls is still drawn."""

from pipeline.run.follow import passed_stages


def test_a_stage_between_two_polls_is_drawn_in_order() -> None:
    assert passed_stages("prepare", "finish") == ["match"]
    assert passed_stages("fetch", "publish") == ["prepare", "match", "finish"]


def test_the_next_stage_passes_nothing() -> None:
    assert passed_stages("prepare", "match") == []


def test_no_stage_is_made_up_before_the_first_one_drawn_or_backwards() -> None:
    assert passed_stages(None, "finish") == []
    assert passed_stages("finish", "prepare") == []
