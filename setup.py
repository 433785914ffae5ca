"""Builds the compiled pre-score (pipeline/match/_prescore.pyx) with the project: ``make install``
(``pip install -e .``) compiles it, Cython coming from pyproject.toml's build requirements. The
rest of the project's metadata is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("pipeline.match._prescore", ["pipeline/match/_prescore.pyx"], extra_compile_args=["-O2", "-ffp-contract=off"])],
        language_level=3,
    )
)
