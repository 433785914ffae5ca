"""The one-line notices a form's redirect carries in its query (``?notice=...``), shown only when
they are one the console sends: a link from elsewhere cannot make a page say something else."""

from __future__ import annotations

import re

from fastapi import Request

#: after a run action (pipeline/web/run_actions.py)
RUN_NOTICE = re.compile(r"run [0-9a-f]{12} (started \((console|review)\)|cancelled)")
#: after a review decision, and a verdict on the quality sample (pipeline/web/review.py)
DECISION_NOTICE = re.compile(r"confirmed|rejected")
VERDICT_NOTICE = re.compile(r"correct|wrong")


def notice(request: Request, allowed: re.Pattern[str]) -> str:
    """The redirect's notice when ``allowed`` matches it whole, else nothing."""
    text = request.query_params.get("notice", "")
    return text if allowed.fullmatch(text) else ""
