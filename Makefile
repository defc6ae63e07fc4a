# Two entry points do all set-up from a fresh clone:
#   make test   - create .venv/, install derive with its test extras, run the whole suite
#   make docs   - create .venv/, install, regenerate docs/examples/, build the site into site/
# torch is pinned to 2.13.0 (the local CPU wheel) through constraints.txt.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.derive-installed

.PHONY: all test docs serve lint bench clean

all: test

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,docs,dev]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

docs: $(STAMP)
	$(BIN)/derive build
	$(BIN)/mkdocs build --strict

serve: docs
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory site 8000

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf site .pytest_cache .hypothesis
