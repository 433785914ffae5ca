import re
from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import known_keys, load_settings

REPO = Path(__file__).resolve().parents[2]

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
    cfg.write_text('REUNIFY_DATABASE_URL = "sqlite:///file.db"\nREUNIFY_SCHEDULE_CRON = "0 */2 * * *"\n')
    s = load_settings({"REUNIFY_DATABASE_URL": "sqlite:///env.db"}, config_file=cfg)
    assert s.database_url == "sqlite:///env.db"
    assert s.schedule.interval.total_seconds() == 2 * 3600


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


def test_a_config_file_named_by_reunify_config_that_is_missing_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "reunify.toml"
    with pytest.raises(ConfigError, match="REUNIFY_CONFIG"):
        load_settings({"REUNIFY_CONFIG": str(missing)})


def test_the_file_named_by_reunify_config_is_read(tmp_path: Path) -> None:
    cfg = tmp_path / "reunify.toml"
    cfg.write_text("REUNIFY_MATCH_PARTITIONS = 3\n")
    assert load_settings({"REUNIFY_CONFIG": str(cfg)}).match_partitions == 3


def test_the_image_reads_the_config_it_ships(tmp_path: Path) -> None:
    """The Dockerfile names its config by REUNIFY_CONFIG (installed, the package's own default
    path would point into site-packages); that path is where the image copies config/."""
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    env = dict(re.findall(r"\b(REUNIFY_CONFIG)=(\S+)", dockerfile))
    assert env, "the Dockerfile must set REUNIFY_CONFIG"
    workdir = re.findall(r"^WORKDIR\s+(\S+)", dockerfile, flags=re.M)[-1]
    assert re.search(r"^COPY\s+config\s+\./config\s*$", dockerfile, flags=re.M)
    in_image = Path(env["REUNIFY_CONFIG"])
    relative = in_image.relative_to(workdir)  # the file the image holds, relative to /app
    assert relative == Path("config/reunify.toml") and (REPO / relative).is_file()
    # a file named by REUNIFY_CONFIG that is missing raises: loading it proves the image finds it
    settings = load_settings({"REUNIFY_CONFIG": str(REPO / relative)})
    assert not settings.unknown_keys


def test_unknown_reunify_variables_are_named_and_test_variables_are_not(tmp_path: Path) -> None:
    s = load_settings(
        {"REUNIFY_MATCH_PARTITONS": "3", "REUNIFY_TEST_REDIS_URL": "redis://x", "OTHER": "1"},
        config_file=tmp_path / "n",
    )
    assert s.unknown_keys == ("REUNIFY_MATCH_PARTITONS",)


def test_every_documented_variable_is_read_by_some_setting() -> None:
    documented = set(
        re.findall(r"^#?\s*(REUNIFY_[A-Z0-9_]+)=", (REPO / "config" / ".env.example").read_text(), re.M)
    )
    documented |= set(
        re.findall(r"^(REUNIFY_[A-Z0-9_]+)\s*=", (REPO / "config" / "reunify.toml").read_text(), re.M)
    )
    assert documented and documented <= known_keys()


def test_an_invalid_log_level_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REUNIFY_LOG_LEVEL must be one of"):
        load_settings({"REUNIFY_LOG_LEVEL": "verbose"}, config_file=tmp_path / "n")


def test_the_clock_skew_is_seconds_from_none_to_a_day(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    assert load_settings({}, config_file=none).clock_skew_seconds == 300
    assert load_settings({"REUNIFY_CLOCK_SKEW_SECONDS": "0"}, config_file=none).clock_skew_seconds == 0
    for bad in ("-1", "86401", "soon", "nan"):
        with pytest.raises(ConfigError, match=f"REUNIFY_CLOCK_SKEW_SECONDS must be .*got '{bad}'"):
            load_settings({"REUNIFY_CLOCK_SKEW_SECONDS": bad}, config_file=none)
