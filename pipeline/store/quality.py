"""The quality sample in the store: confident links of a published run drawn at random, and the
reviewers' verdicts on them (the tables of migration 0011; ``Store`` forwards to this repository)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pipeline.errors import NotFoundError, StoreError
from pipeline.store.db import Database
from pipeline.store.history import child_key
from pipeline.store.schema import QUALITY_VERDICTS, quality_samples, quality_verdicts
from pipeline.store.schema import results as results_table

#: a link is confident, and may be sampled, from this posterior up (the review queue's bar)
CONFIDENT_SCORE = 0.95


@dataclass(frozen=True, slots=True)
class SampledLink:
    """One link of a run's quality sample, with the latest verdict on it (if any)."""

    run_id: str
    child_key: str
    adult_key: str
    match_score: float
    verdict: str | None = None
    who: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """A reviewer's verdict on one sampled link."""

    id: int
    run_id: str
    child_key: str
    adult_key: str
    verdict: str
    who: str
    decided_at: datetime
    note: str


def confident_link(result: Mapping[str, Any]) -> str | None:
    """The adult record id of a result's confident link (the first of its ICE, else removal
    ids), or None: no parent, flagged for review, DNA excluded, or below CONFIDENT_SCORE."""
    parent = result.get("parent")
    if not parent or result.get("needs_review") or result.get("status") == "not_a_parent":
        return None
    if float(parent.get("match_score") or 0.0) < CONFIDENT_SCORE:
        return None
    ids = [*(parent.get("ice_record_ids") or []), *(parent.get("removal_record_ids") or [])]
    return ids[0] if ids else None


def sample_size(population: int, share: float) -> int:
    """How many of ``population`` links a share draws: rounded, at least one when both are > 0."""
    if population <= 0 or share <= 0:
        return 0
    return min(population, max(1, round(population * share)))


class QualityRepository:
    """The ``quality_samples`` and ``quality_verdicts`` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def draw_quality_sample(self, run_id: str, share: float, rng: random.Random | None = None) -> int:
        """Draw ``share`` of the run's confident links at random (a system RNG unless given one)
        and store them as the run's sample (replacing any drawn before); how many were drawn."""
        r = results_table.c
        links: list[tuple[str, str, float]] = []
        with self._db.read("reading a run's links for the quality sample") as conn:
            for text in conn.execute(sa.select(r.payload).where(r.run_id == run_id)).scalars():
                result = json.loads(text)
                adult = confident_link(result)
                if adult is not None:
                    links.append((child_key(result), adult, float(result["parent"]["match_score"])))
        links.sort()  # a seeded RNG then draws the same links whatever order the rows came in
        chosen = (rng or random.SystemRandom()).sample(links, sample_size(len(links), share))
        now = self._db.now()
        rows = [
            {"run_id": run_id, "child_key": k, "adult_key": a, "match_score": s, "drawn_at": now}
            for k, a, s in chosen
        ]
        with self._db.write("storing the quality sample") as conn:
            conn.execute(sa.delete(quality_samples).where(quality_samples.c.run_id == run_id))
            if rows:
                conn.execute(sa.insert(quality_samples), rows)
        return len(rows)

    def quality_sample(self, run_id: str) -> list[SampledLink]:
        """A run's sample by child key, each with the latest verdict on its (child, adult) link."""
        s = quality_samples.c
        with self._db.read("reading the quality sample") as conn:
            rows = conn.execute(
                sa.select(s.run_id, s.child_key, s.adult_key, s.match_score)
                .where(s.run_id == run_id)
                .order_by(s.child_key)
            ).all()
        latest = self._latest((row.child_key, row.adult_key) for row in rows)
        out = []
        for row in rows:
            v = latest.get((row.child_key, row.adult_key))
            out.append(
                SampledLink(
                    row.run_id,
                    row.child_key,
                    row.adult_key,
                    row.match_score,
                    v.verdict if v else None,
                    v.who if v else None,
                )
            )
        return out

    def add_quality_verdict(self, run_id: str, child: str, verdict: str, who: str, note: str = "") -> Verdict:
        """Record ``who``'s verdict (correct or wrong) on the link of ``child`` in run ``run_id``'s
        sample; a later verdict on the same link replaces it in the estimate."""
        if verdict not in QUALITY_VERDICTS:
            raise StoreError(f"a verdict is one of {', '.join(QUALITY_VERDICTS)}, not {verdict!r}")
        s = quality_samples.c
        with self._db.read("reading the quality sample") as conn:
            adult = conn.execute(
                sa.select(s.adult_key).where(s.run_id == run_id, s.child_key == child)
            ).scalar_one_or_none()
        if adult is None:
            raise NotFoundError(f"child {child!r} is not in the quality sample of run {run_id}")
        values = {
            "run_id": run_id,
            "child_key": child,
            "adult_key": adult,
            "verdict": verdict,
            "who": who,
            "decided_at": self._db.now(),
            "note": note,
        }
        with self._db.write("recording a quality verdict") as conn:
            new_id = conn.execute(
                sa.insert(quality_verdicts).values(values).returning(quality_verdicts.c.id)
            ).scalar_one()
        return Verdict(id=new_id, **values)

    def _latest(self, links: Iterable[tuple[str, str]] | None = None) -> dict[tuple[str, str], Verdict]:
        v = quality_verdicts.c
        stmt = sa.select(quality_verdicts).order_by(v.decided_at, v.id)
        wanted = None if links is None else set(links)
        if wanted is not None:
            if not wanted:
                return {}
            stmt = stmt.where(v.child_key.in_(sorted({k for k, _ in wanted})))
        out: dict[tuple[str, str], Verdict] = {}
        with self._db.read("reading quality verdicts") as conn:
            for row in conn.execute(stmt).mappings():
                key = (row["child_key"], row["adult_key"])
                if wanted is None or key in wanted:
                    out[key] = Verdict(**row)
        return out

    def quality_verdict_counts(self) -> tuple[int, int]:
        """(links judged correct, links judged) over every sampled link's latest verdict."""
        latest = self._latest()
        return sum(v.verdict == "correct" for v in latest.values()), len(latest)
