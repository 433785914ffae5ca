"""Operators' tools over the store: the court report, the review queue, one child's story,
discrepancies between agencies, and the run history. Each module builds plain data, then renders
it; ``commands`` wires them into the ``reunify`` CLI."""
