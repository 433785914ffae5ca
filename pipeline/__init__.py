"""Reunify: reconcile agency feeds to link separated children with their parents.

The flow is fetch (``pipeline.feeds``) → normalise/parse (``pipeline.normalise``,
``pipeline.parse``) → match (``pipeline.match``) → classify (``pipeline.classify``) →
store (``pipeline.store``), driven by ``pipeline.run``.
"""
