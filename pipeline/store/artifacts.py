"""The matching state a run's steps hand on (model, partition plans, first-pass links; ids and
weights only), deleted once the run's results are staged."""

from __future__ import annotations

import sqlalchemy as sa

from pipeline.errors import StoreError
from pipeline.store.db import Database
from pipeline.store.schema import (
    run_artifacts,
)


class ArtifactRepository:
    """The ``run_artifacts`` table: named text bodies per run."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put_artifact(self, run_id: str, name: str, body: str) -> None:
        """Store (or replace) one named piece of a run's matching state."""
        a = run_artifacts.c

        def write(conn: sa.Connection) -> None:
            conn.execute(sa.delete(run_artifacts).where(a.run_id == run_id, a.name == name))
            conn.execute(sa.insert(run_artifacts).values(run_id=run_id, name=name, body=body))

        self._db.write_retrying(f"saving the run's {name}", write)

    def get_artifact(self, run_id: str, name: str) -> str:
        """One named piece of a run's matching state; StoreError when it is not there."""
        a = run_artifacts.c
        with self._db.read(f"reading the run's {name}") as conn:
            body = conn.execute(sa.select(a.body).where(a.run_id == run_id, a.name == name)).scalar()
        if body is None:
            raise StoreError(
                f"run {run_id} has no {name!r} in the store: the step that writes it has not run "
                "(or the run was pruned); start a new run"
            )
        return str(body)

    def delete_artifacts(self, run_id: str, keep: tuple[str, ...] = ()) -> int:
        """Drop a run's matching state (once its results are staged) but the pieces named in
        ``keep`` (they go with the run when it is pruned); the rows deleted."""
        a = run_artifacts.c
        with self._db.write("deleting the run's matching state") as conn:
            return conn.execute(
                sa.delete(run_artifacts).where(a.run_id == run_id, a.name.not_in(keep))
            ).rowcount
