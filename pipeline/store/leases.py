"""The steps of runs done by workers: messages sent, leases taken and renewed, steps done, and
moving a run on to its next stage once the steps it waits for are done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from pipeline.store.db import Database
from pipeline.store.models import (
    StepInfo,
)
from pipeline.store.schema import (
    run_steps,
    runs,
)


class StepLeaseRepository:
    """The ``run_steps`` table (and the run's stage, which advances over it)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def mark_sent(self, run_id: str, steps: Sequence[str]) -> None:
        """Note that the messages of ``steps`` of a run are being sent now (creating their rows)."""
        if not steps:
            return
        now = self._db.now()
        ins = self._db.insert(run_steps).values(
            [{"run_id": run_id, "step": step, "sent_at": now, "sends": 1, "attempts": 0} for step in steps]
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[run_steps.c.run_id, run_steps.c.step],
            set_={"sent_at": ins.excluded.sent_at, "sends": run_steps.c.sends + 1},
        )
        with self._db.write("recording sent steps") as conn:
            conn.execute(stmt)

    def resend_step(self, run_id: str, step: str, not_sent_since: datetime) -> bool:
        """Take the right to re-send a step that is not done, not leased by a live worker and not
        sent since ``not_sent_since``; True for exactly one of many concurrent callers."""
        now = self._db.now()
        s = run_steps.c
        stmt = (
            sa.update(run_steps)
            .where(
                s.run_id == run_id,
                s.step == step,
                s.done_at.is_(None),
                sa.or_(s.lease_until.is_(None), s.lease_until <= now),
                sa.or_(s.sent_at.is_(None), s.sent_at < not_sent_since),
            )
            .values(sent_at=now, sends=s.sends + 1)
        )
        with self._db.write("re-sending a step") as conn:
            return conn.execute(stmt).rowcount == 1

    def claim_step(self, run_id: str, step: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lease of a step of a running run for ``ttl_seconds``.

        False when the run is not running, the step is done, or another owner holds a live lease:
        the caller must then leave the step alone. Each successful claim counts one attempt.
        """
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        now = self._db.now()
        ins = self._db.insert(run_steps).values(
            run_id=run_id,
            step=step,
            sent_at=None,
            sends=0,
            owner=owner,
            lease_until=now + timedelta(seconds=ttl_seconds),
            attempts=1,
        )
        s = run_steps.c
        stmt = ins.on_conflict_do_update(
            index_elements=[s.run_id, s.step],
            set_={
                "owner": ins.excluded.owner,
                "lease_until": ins.excluded.lease_until,
                "attempts": s.attempts + 1,
            },
            where=sa.and_(
                s.done_at.is_(None),
                sa.or_(s.lease_until.is_(None), s.lease_until <= now, s.owner == ins.excluded.owner),
            ),
        ).returning(s.owner)

        def body(conn: sa.Connection) -> bool:
            status = conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()
            if status != "running":
                return False
            return conn.execute(stmt).first() is not None

        return self._db.write_retrying("claiming a step", body)

    def refresh_step(self, run_id: str, step: str, owner: str, ttl_seconds: float) -> bool:
        """Renew our lease of a step for ``ttl_seconds``; False if it is no longer ours (or done)."""
        s = run_steps.c
        stmt = (
            sa.update(run_steps)
            .where(s.run_id == run_id, s.step == step, s.owner == owner, s.done_at.is_(None))
            .values(lease_until=self._db.now() + timedelta(seconds=ttl_seconds))
        )
        with self._db.write("renewing a step lease") as conn:
            return conn.execute(stmt).rowcount == 1

    def release_step(self, run_id: str, step: str, owner: str) -> bool:
        """Give up our lease of an unfinished step (it failed and will be retried or re-sent).

        Counts as a send: the retry's message is on its way, so the watchdog waits before re-sending.
        """
        s = run_steps.c
        now = self._db.now()
        stmt = (
            sa.update(run_steps)
            .where(s.run_id == run_id, s.step == step, s.owner == owner, s.done_at.is_(None))
            .values(owner=None, lease_until=None, sent_at=now)
        )
        with self._db.write("releasing a step lease") as conn:
            return conn.execute(stmt).rowcount == 1

    def finish_step(self, run_id: str, step: str, owner: str) -> bool:
        """Mark a step done if we still hold it; False if it was done already or taken over."""
        s = run_steps.c
        stmt = (
            sa.update(run_steps)
            .where(s.run_id == run_id, s.step == step, s.owner == owner, s.done_at.is_(None))
            .values(done_at=self._db.now(), lease_until=None)
        )
        with self._db.write("finishing a step") as conn:
            return conn.execute(stmt).rowcount == 1

    def list_steps(self, run_id: str) -> list[StepInfo]:
        """The steps of a run, by name."""
        stmt = sa.select(run_steps).where(run_steps.c.run_id == run_id).order_by(run_steps.c.step)
        with self._db.read("listing run steps") as conn:
            return [StepInfo(**row) for row in conn.execute(stmt).mappings()]

    def advance_stage(self, run_id: str, from_stage: str, to_stage: str, requires: Sequence[str]) -> bool:
        """Move a running run from ``from_stage`` to ``to_stage`` once every step in ``requires`` is
        done. One statement, so among concurrent callers exactly one gets True."""
        s = run_steps.c
        done = (
            sa.select(sa.func.count())
            .select_from(run_steps)
            .where(s.run_id == run_id, s.step.in_(list(requires)), s.done_at.is_not(None))
            .scalar_subquery()
        )
        stmt = (
            sa.update(runs)
            .where(
                runs.c.id == run_id,
                runs.c.status == "running",
                runs.c.stage == from_stage,
                done == len(set(requires)),
            )
            .values(stage=to_stage, heartbeat_at=self._db.now())
        )
        return self._db.write_retrying("advancing a run", lambda conn: conn.execute(stmt).rowcount == 1)
