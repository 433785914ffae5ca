"""The estimate of link precision from the quality sample's verdicts: a Wilson score interval,
and how many verdicts an interval of a given half-width needs (n = z² p (1 - p) / e²)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.store import Store

Z_95 = 1.959964  # the normal quantile of a two-sided 95% interval
HALF_WIDTH = 0.02  # the ±2% the issue asks about


def wilson(correct: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``correct / n``: (low, high); (0, 1) with no data.

    Unlike the normal approximation it stays inside [0, 1] and is honest at p near 1, where
    link precision lives."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be between 0 and n ({n}), not {correct}")
    p = correct / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def verdicts_needed(p: float | None, half_width: float = HALF_WIDTH, z: float = Z_95) -> int:
    """Verdicts for an interval of ± ``half_width`` at precision ``p`` (None: the worst case,
    p = 0.5): z² p (1 - p) / half_width², rounded up; 188 or so at p = 0.98, 2,401 at p = 0.5."""
    q = 0.5 if p is None else p
    return math.ceil(z * z * q * (1 - q) / (half_width * half_width) - 1e-9)


@dataclass(frozen=True, slots=True)
class PrecisionEstimate:
    """The reviewers' verdicts on the quality sample as an estimate of link precision."""

    correct: int
    verdicts: int
    low: float
    high: float
    needed: int

    @property
    def precision(self) -> float | None:
        """The share of sampled links judged correct (None before any verdict)."""
        return self.correct / self.verdicts if self.verdicts else None

    @property
    def more_needed(self) -> int:
        """Verdicts still to give for a ±2% interval at the current estimate."""
        return max(0, self.needed - self.verdicts)


def estimate(store: Store) -> PrecisionEstimate:
    """The precision of confident links from every sampled link's latest verdict."""
    correct, n = store.quality_verdict_counts()
    low, high = wilson(correct, n)
    # all correct (or all wrong) says p(1 - p) = 0, and so "no verdict needed": plan with the
    # interval's bound nearest 0.5 instead, which shrinks as verdicts come in
    p = None if not n else low if correct == n else high if correct == 0 else correct / n
    return PrecisionEstimate(correct, n, low, high, verdicts_needed(p))
