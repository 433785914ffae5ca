"""The task monitor (Flower) never runs without a password.

``celery -A workers flower`` imports this app before Flower reads its options, so the
credentials from the settings are installed as Flower's basic auth here, and a monitor without
credentials refuses to start.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pipeline.settings import Settings

MISSING_CREDENTIALS = (
    "reunify: the task monitor refuses to start without credentials: "
    "set REUNIFY_FLOWER_USER and REUNIFY_FLOWER_PASSWORD"
)


def invoked_as_flower(argv: Sequence[str]) -> bool:
    """True when this process is ``celery ... flower``."""
    return any(arg == "flower" for arg in argv[1:])


def secure_flower(settings: Settings) -> None:
    """Install basic auth for Flower from settings; exit with a clear message without them."""
    if not (settings.flower_user and settings.flower_password):
        raise SystemExit(MISSING_CREDENTIALS)
    if ":" in settings.flower_user:
        raise SystemExit("reunify: REUNIFY_FLOWER_USER must not contain ':'")
    from flower.options import options

    options.basic_auth = [f"{settings.flower_user}:{settings.flower_password}"]


def guard(settings: Settings, argv: Sequence[str] | None = None) -> None:
    """Secure Flower when this process is Flower; otherwise do nothing."""
    if invoked_as_flower(sys.argv if argv is None else argv):
        secure_flower(settings)
