"""Typed settings, read once from the environment and the config file.

Every ``REUNIFY_*`` variable may also be set in a TOML config file (``config/reunify.toml`` by
default, or the file named by ``REUNIFY_CONFIG``); the environment wins over the file. Nothing
else in the code reads ``os.environ``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import structlog

from pipeline import feed_registry as registry
from pipeline.cron import Schedule, parse_schedule
from pipeline.errors import ConfigError

# the feeds' keys (REUNIFY_{NAME}_URL / _TOKEN) come from the feed registry
FEEDS: tuple[str, ...] = registry.NAMES
REQUIRED_FEEDS: tuple[str, ...] = registry.REQUIRED
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "reunify.toml"
DEFAULT_SCHEDULE = "0 */6 * * *"  # every 6 hours on the hour, UTC


@dataclass(frozen=True)
class FeedSettings:
    """Where one agency feed lives and the token it wants. The token never appears in a repr."""

    name: str
    url: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything Reunify can be told, validated once at start-up."""

    feeds: Mapping[str, FeedSettings]
    as_of: date
    database_url: str = "sqlite:///reunify.sqlite3"
    broker_url: str | None = None
    # Feed client
    request_timeout: float = 30.0
    retry_max_seconds: float = 120.0
    retry_max_attempts: int = 8
    orr_page_size: int = 1000
    ice_page_size: int = 500
    # Limits of one feed's fetch: wall-clock seconds for the whole fetch (retries included), for one
    # JSON page's response, pages followed by cursor or link (ICE's come from its total), and bytes
    # of one JSON page. A feed past any of them fails the run rather than hanging it.
    fetch_budget_seconds: float = 1800.0
    page_max_seconds: float = 300.0
    max_pages: int = 100_000  # 1,000,000 records at ten a page
    max_response_bytes: int = 64 * 1024 * 1024
    # Runs
    run_lock_seconds: int = 3600
    run_deadline_seconds: int = 3600  # a run not finished this long after it started is failed
    # When scheduled runs happen (pipeline/cron.py): five cron fields in UTC, or "@every N[s|m|h]".
    schedule_cron: str = DEFAULT_SCHEDULE
    # Scheduled runs fetch only what changed (incremental) unless set to full.
    scheduled_mode: str = "incremental"
    # How far the agencies' clocks may be from ours: an update time later than a run's start plus
    # this is not their clock (kept, but never the feed's high-water mark), and the mark stays
    # this much before the run's start (an earlier mark only re-fetches a little more).
    clock_skew_seconds: float = 300.0
    # Workers and their watchdog (pipeline/run/leases.py, watchdog.py): a worker renews its step's lease
    # on every heartbeat; a lease not renewed for stall_seconds means the worker was lost
    # and the watchdog (run every sweep_seconds by beat) re-sends the step; a step lost
    # step_max_attempts times fails the run.
    heartbeat_seconds: float = 10.0
    stall_seconds: float = 60.0
    sweep_seconds: float = 30.0
    step_max_attempts: int = 3
    # The parent-child linking is split into this many partitions by apprehension date: through
    # workers each is a step (match:0 ...) that any worker can take; in-process they run in turn.
    # The results do not depend on it.
    match_partitions: int = 4
    # The matching model (u/m weights, name-frequency tables) is frozen between full runs: an
    # incremental or --no-fetch run reuses the last good run's model state unless it was
    # estimated this many days ago or more (then it is re-estimated; 1: every new UTC day).
    model_max_age_days: int = 7
    log_json: bool | None = None
    log_level: str | None = None  # None: INFO, or WARNING on a terminal
    # Monitor
    flower_user: str | None = None
    flower_password: str | None = field(default=None, repr=False)
    # Court deadlines per cohort (report)
    deadline_under_5: date = date(2018, 7, 10)
    deadline_5_and_over: date = date(2018, 7, 26)
    # Monitoring: the bearer token `reunify metrics serve` requires (none: open, loopback only by
    # default), and the webhook told when a run fails or a scheduled tick is skipped
    # (pipeline/notify.py); its timeout per attempt, in seconds.
    metrics_token: str | None = field(default=None, repr=False)
    notify_url: str | None = field(default=None, repr=False)
    notify_timeout: float = 3.0
    # Publish gates (pipeline/gates.py): a run is not published when a feed's valid records fell
    # by more than this fraction against the last good run, or more than this fraction of the
    # records a feed served this run were quarantined.
    max_feed_drop: float = 0.2
    max_quarantine_rate: float = 0.05
    # The share of a published run's confident links drawn at random for reviewers to check
    # (the console's "check" tab); their verdicts estimate the links' precision.
    quality_sample_share: float = 0.02
    # The console (pipeline/web): the key that signs its session cookies (it refuses to start
    # without one), minutes a session may sit idle, and the lockout after wrong passwords.
    web_secret: str | None = field(default=None, repr=False)
    web_idle_minutes: float = 30.0
    web_max_failed_logins: int = 5
    web_lockout_minutes: float = 15.0
    # REUNIFY_* keys given (environment or file) that no setting reads: a typo to warn about
    unknown_keys: tuple[str, ...] = ()

    @cached_property
    def schedule(self) -> Schedule:
        """The parsed schedule of scheduled runs (checked when the settings were read)."""
        return parse_schedule(self.schedule_cron)

    def feed(self, name: str) -> FeedSettings | None:
        """The settings of one feed, or None when it is not configured (DNA is optional)."""
        return self.feeds.get(name)

    def require_feeds(self) -> None:
        """Raise ConfigError naming every required feed that has no URL or token."""
        missing = [
            f"REUNIFY_{name.upper()}_URL/REUNIFY_{name.upper()}_TOKEN"
            for name in REQUIRED_FEEDS
            if name not in self.feeds
        ]
        if missing:
            raise ConfigError("a run needs these feeds configured: " + ", ".join(missing))

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and the demo use it)."""
        return replace(self, **changes)


def _read_file(path: Path | None) -> dict[str, str]:
    if path is None or not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            raise ConfigError(f"config file {path}: key {key!r} must be a plain value, not a table")
        flat[key.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


def _parse_bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{key} must be true or false, got {value!r}")


def _parse_date(key: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ConfigError(f"{key} must be an ISO date (YYYY-MM-DD), got {value!r}") from exc


def _parse_number(key: str, value: str, kind: type[int] | type[float]) -> Any:
    try:
        number = kind(value)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number, got {value!r}") from exc
    if number <= 0:
        raise ConfigError(f"{key} must be positive, got {value!r}")
    return number


def _parse_fraction(key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number between 0 and 1, got {value!r}") from exc
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"{key} must be between 0 and 1 (a fraction, 0.2 = 20%), got {value!r}")
    return number


_FRACTIONS: dict[str, str] = {
    "REUNIFY_MAX_FEED_DROP": "max_feed_drop",
    "REUNIFY_MAX_QUARANTINE_RATE": "max_quarantine_rate",
    "REUNIFY_QUALITY_SAMPLE_SHARE": "quality_sample_share",
}


_NUMBERS: dict[str, tuple[str, type[int] | type[float]]] = {
    "REUNIFY_REQUEST_TIMEOUT": ("request_timeout", float),
    "REUNIFY_RETRY_MAX_SECONDS": ("retry_max_seconds", float),
    "REUNIFY_RETRY_MAX_ATTEMPTS": ("retry_max_attempts", int),
    "REUNIFY_ORR_PAGE_SIZE": ("orr_page_size", int),
    "REUNIFY_ICE_PAGE_SIZE": ("ice_page_size", int),
    "REUNIFY_FETCH_BUDGET_SECONDS": ("fetch_budget_seconds", float),
    "REUNIFY_PAGE_MAX_SECONDS": ("page_max_seconds", float),
    "REUNIFY_MAX_PAGES": ("max_pages", int),
    "REUNIFY_MAX_RESPONSE_BYTES": ("max_response_bytes", int),
    "REUNIFY_RUN_LOCK_SECONDS": ("run_lock_seconds", int),
    "REUNIFY_RUN_DEADLINE_SECONDS": ("run_deadline_seconds", int),
    "REUNIFY_HEARTBEAT_SECONDS": ("heartbeat_seconds", float),
    "REUNIFY_STALL_SECONDS": ("stall_seconds", float),
    "REUNIFY_SWEEP_SECONDS": ("sweep_seconds", float),
    "REUNIFY_STEP_MAX_ATTEMPTS": ("step_max_attempts", int),
    "REUNIFY_MATCH_PARTITIONS": ("match_partitions", int),
    "REUNIFY_MODEL_MAX_AGE_DAYS": ("model_max_age_days", int),
    "REUNIFY_NOTIFY_TIMEOUT": ("notify_timeout", float),
    "REUNIFY_WEB_IDLE_MINUTES": ("web_idle_minutes", float),
    "REUNIFY_WEB_MAX_FAILED_LOGINS": ("web_max_failed_logins", int),
    "REUNIFY_WEB_LOCKOUT_MINUTES": ("web_lockout_minutes", float),
}


LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Keys read by load_settings besides the feeds', _NUMBERS' and _FRACTIONS' (REUNIFY_CONFIG names
# the file).
_OTHER_KEYS: tuple[str, ...] = (
    "REUNIFY_CONFIG",
    "REUNIFY_AS_OF",
    "REUNIFY_DATABASE_URL",
    "REUNIFY_BROKER_URL",
    "REUNIFY_LOG_JSON",
    "REUNIFY_LOG_LEVEL",
    "REUNIFY_SCHEDULED_MODE",
    "REUNIFY_SCHEDULE_CRON",
    "REUNIFY_CLOCK_SKEW_SECONDS",
    "REUNIFY_METRICS_TOKEN",
    "REUNIFY_NOTIFY_URL",
    "REUNIFY_FLOWER_USER",
    "REUNIFY_FLOWER_PASSWORD",
    "REUNIFY_DEADLINE_UNDER_5",
    "REUNIFY_DEADLINE_5_AND_OVER",
    "REUNIFY_WEB_SECRET",
)


def known_keys() -> frozenset[str]:
    """Every ``REUNIFY_*`` key some setting reads."""
    feeds = {f"REUNIFY_{name.upper()}_{part}" for name in FEEDS for part in ("URL", "TOKEN")}
    return frozenset({*feeds, *_NUMBERS, *_FRACTIONS, *_OTHER_KEYS})


def _unknown(values: Mapping[str, str]) -> tuple[str, ...]:
    known = known_keys()
    # REUNIFY_TEST_* belong to the test suite (its service URLs), not to the pipeline
    return tuple(sorted(k for k in values if k not in known and not k.startswith("REUNIFY_TEST_")))


def load_settings(environ: Mapping[str, str] | None = None, config_file: Path | None = None) -> Settings:
    """Build Settings from a config file and an environment mapping (``os.environ`` by default)."""
    env = dict(os.environ if environ is None else environ)
    path = config_file
    if path is None:
        named = env.get("REUNIFY_CONFIG")
        if named:
            path = Path(named)
            # a file named on purpose and missing is a deployment mistake, not "no settings"
            if not path.is_file():
                raise ConfigError(f"REUNIFY_CONFIG names {path}, which is not a readable file")
        else:
            path = DEFAULT_CONFIG
    values = _read_file(path)
    values.update({k: v for k, v in env.items() if k.startswith("REUNIFY_")})

    def get(key: str) -> str | None:
        value = values.get(key)
        return value if value not in (None, "") else None

    feeds: dict[str, FeedSettings] = {}
    for name in FEEDS:
        url, token = get(f"REUNIFY_{name.upper()}_URL"), get(f"REUNIFY_{name.upper()}_TOKEN")
        if url and token:
            feeds[name] = FeedSettings(name=name, url=url.rstrip("/"), token=token)
        elif url and not token:
            raise ConfigError(f"REUNIFY_{name.upper()}_URL is set but REUNIFY_{name.upper()}_TOKEN is not")

    as_of_raw = get("REUNIFY_AS_OF")
    kwargs: dict[str, Any] = {
        "feeds": feeds,
        "as_of": _parse_date("REUNIFY_AS_OF", as_of_raw) if as_of_raw else date.today(),
    }
    if db := get("REUNIFY_DATABASE_URL"):
        kwargs["database_url"] = db
    kwargs["broker_url"] = get("REUNIFY_BROKER_URL")
    for key, (attr, kind) in _NUMBERS.items():
        if (raw := get(key)) is not None:
            kwargs[attr] = _parse_number(key, raw, kind)
    for key, attr in _FRACTIONS.items():
        if (raw := get(key)) is not None:
            kwargs[attr] = _parse_fraction(key, raw)
    if (raw := get("REUNIFY_LOG_JSON")) is not None:
        kwargs["log_json"] = _parse_bool("REUNIFY_LOG_JSON", raw)
    if (raw := get("REUNIFY_LOG_LEVEL")) is not None:
        if raw.upper() not in LOG_LEVELS:
            raise ConfigError(f"REUNIFY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
        kwargs["log_level"] = raw.upper()
    if (raw := get("REUNIFY_SCHEDULED_MODE")) is not None:
        if raw not in ("full", "incremental"):
            raise ConfigError(f"REUNIFY_SCHEDULED_MODE must be full or incremental, got {raw!r}")
        kwargs["scheduled_mode"] = raw
    if (raw := get("REUNIFY_SCHEDULE_CRON")) is not None:
        kwargs["schedule_cron"] = parse_schedule(raw).expression
    if (raw := get("REUNIFY_CLOCK_SKEW_SECONDS")) is not None:
        try:
            kwargs["clock_skew_seconds"] = float(raw)
        except ValueError as exc:
            raise ConfigError(f"REUNIFY_CLOCK_SKEW_SECONDS must be a number, got {raw!r}") from exc
        if not 0 <= kwargs["clock_skew_seconds"] <= 86400:
            raise ConfigError(f"REUNIFY_CLOCK_SKEW_SECONDS must be between 0 and 86400 (a day), got {raw!r}")
    kwargs["flower_user"] = get("REUNIFY_FLOWER_USER")
    kwargs["flower_password"] = get("REUNIFY_FLOWER_PASSWORD")
    kwargs["metrics_token"] = get("REUNIFY_METRICS_TOKEN")
    kwargs["web_secret"] = get("REUNIFY_WEB_SECRET")
    if (raw := get("REUNIFY_NOTIFY_URL")) is not None:
        if not raw.startswith(("http://", "https://")):
            # the value may hold a secret (a webhook path or credentials): do not echo it
            raise ConfigError("REUNIFY_NOTIFY_URL must be an http:// or https:// URL")
        kwargs["notify_url"] = raw
    if (raw := get("REUNIFY_DEADLINE_UNDER_5")) is not None:
        kwargs["deadline_under_5"] = _parse_date("REUNIFY_DEADLINE_UNDER_5", raw)
    if (raw := get("REUNIFY_DEADLINE_5_AND_OVER")) is not None:
        kwargs["deadline_5_and_over"] = _parse_date("REUNIFY_DEADLINE_5_AND_OVER", raw)
    settings = Settings(**kwargs, unknown_keys=_unknown(values))
    if not 1 <= settings.match_partitions <= 256:
        raise ConfigError(
            f"REUNIFY_MATCH_PARTITIONS must be between 1 and 256, got {settings.match_partitions}"
        )
    if settings.stall_seconds < 2 * settings.heartbeat_seconds:
        raise ConfigError(
            "REUNIFY_STALL_SECONDS must be at least twice REUNIFY_HEARTBEAT_SECONDS "
            f"(got {settings.stall_seconds} and {settings.heartbeat_seconds}): a live worker would look lost"
        )
    return settings


def warn_unknown_keys(settings: Settings) -> None:
    """Log one warning naming the REUNIFY_* keys that no setting reads (names only, never values);
    called once logging is set up, since settings are read before it."""
    if settings.unknown_keys:
        structlog.get_logger(__name__).warning(
            "settings.unknown_keys",
            keys=list(settings.unknown_keys),
            hint="no setting reads these REUNIFY_* variables: check their spelling (config/.env.example)",
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
