# Reunify developer commands. Every target creates .venv and installs what it needs.
# Dependencies come from the hashed lock files in requirements/ (base: the runtime, used by the
# image; dev: runtime + tools); `make lock` re-resolves them from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK_FLAGS := --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --quiet

.PHONY: install demo test lint bench lock clean

$(STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/reunify demo

# Both cores, one test file per worker process (files share their fixtures' servers and worlds);
# every test isolates its own databases, Redis database and ports, so the files run side by side.
test: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check pipeline workers tests bench
	$(BIN)/ruff format --check pipeline workers tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

lock: $(STAMP)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements/base.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements/dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
