from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import load_settings

FEEDS_ENV = {
    "REUNIFY_ORR_URL": "http://orr/",
    "REUNIFY_ORR_TOKEN": "t1",
    "REUNIFY_ICE_URL": "http://ice",
    "REUNIFY_ICE_TOKEN": "t2",
    "REUNIFY_REMOVALS_URL": "http://rm",
    "REUNIFY_REMOVALS_TOKEN": "t3",
}


def test_environment_gives_feeds_and_as_of(tmp_path: Path) -> None:
    s = load_settings(FEEDS_ENV | {"REUNIFY_AS_OF": "2018-07-12"}, config_file=tmp_path / "none.toml")
    assert s.feed("orr") is not None and s.feed("orr").url == "http://orr"  # type: ignore[union-attr]
    assert s.feed("dna") is None
    assert s.as_of == date(2018, 7, 12)
    assert s.broker_url is None
    s.require_feeds()


def test_tokens_never_appear_in_repr(tmp_path: Path) -> None:
    s = load_settings(FEEDS_ENV | {"REUNIFY_ORR_TOKEN": "s3cret-token"}, config_file=tmp_path / "x.toml")
    assert "s3cret-token" not in repr(s)


def test_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "reunify.toml"
    cfg.write_text('REUNIFY_DATABASE_URL = "sqlite:///file.db"\nREUNIFY_SCHEDULE_HOURS = 2\n')
    s = load_settings({"REUNIFY_DATABASE_URL": "sqlite:///env.db"}, config_file=cfg)
    assert s.database_url == "sqlite:///env.db"
    assert s.schedule_hours == 2.0


def test_missing_required_feed_is_named(tmp_path: Path) -> None:
    s = load_settings({"REUNIFY_ORR_URL": "http://orr", "REUNIFY_ORR_TOKEN": "x"}, config_file=tmp_path / "n")
    with pytest.raises(ConfigError, match="REUNIFY_ICE_URL"):
        s.require_feeds()


@pytest.mark.parametrize(
    ("key", "value"),
    [("REUNIFY_AS_OF", "12/07/2018"), ("REUNIFY_REQUEST_TIMEOUT", "soon"), ("REUNIFY_LOG_JSON", "maybe")],
)
def test_invalid_values_name_the_variable(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings({key: value}, config_file=tmp_path / "n")


def test_url_without_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REUNIFY_DNA_TOKEN"):
        load_settings({"REUNIFY_DNA_URL": "http://dna"}, config_file=tmp_path / "n")
