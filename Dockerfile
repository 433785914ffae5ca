# One image for every Reunify process: migrate, worker, beat, flower, metrics and the CLI.
# The base is pinned to a patch release; dependencies come from the hashed lock file in their own
# layer, so a code change rebuilds only the last layers.
FROM python:3.11.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REUNIFY_CONFIG=/app/config/reunify.toml
WORKDIR /app
RUN useradd --create-home --uid 10001 reunify
COPY requirements/base.lock ./requirements/base.lock
RUN pip install --require-hashes -r requirements/base.lock
# setup.py builds the compiled pre-score where a C compiler is present; this slim base has none,
# so the image runs the pure-Python pre-score (the same candidates, pipeline/match/blocking.py)
COPY pyproject.toml setup.py README.md ./
COPY pipeline ./pipeline
COPY workers ./workers
COPY entrypoints ./entrypoints
COPY config ./config
# --no-deps: everything it needs is in the lock above
RUN pip install --no-deps . && pip check \
    && mkdir -p /var/lib/reunify/beat /var/lib/reunify/flower \
    && chown -R reunify:reunify /app /var/lib/reunify
USER reunify
CMD ["reunify", "--help"]
