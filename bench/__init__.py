"""Benchmark of Reunify against a competitor baseline (Splink 5 on DuckDB).

Needs the ``bench`` extra: ``pip install -e '.[dev,bench]'``. Run with ``python -m bench.run``.
"""
