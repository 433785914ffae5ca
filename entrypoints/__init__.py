"""The ways into Reunify: the ``reunify`` command (``entrypoints.cli``) and its sub-command
groups. Entrypoints call the services (``pipeline.ops``, ``pipeline.run``) and may import
``workers``; nothing in ``pipeline`` imports this package (tests/unit/test_import_graph.py)."""
