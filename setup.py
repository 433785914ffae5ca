"""Builds the compiled pre-score (pipeline/match/_prescore.pyx) with the project: ``make install``
(``pip install -e .``) compiles it, Cython coming from pyproject.toml's build requirements. Optional:
where no C compiler is found (the slim image) the install goes on without it and
``pipeline.match.blocking`` runs the pure-Python pre-score, which gives the same candidates;
tests/unit/test_prescore_kernel.py fails where the extension is missing, so CI notices. The rest of
the project's metadata is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "pipeline.match._prescore",
                ["pipeline/match/_prescore.pyx"],
                extra_compile_args=["-O2", "-ffp-contract=off"],
                optional=True,
            )
        ],
        language_level=3,
    )
)
