# The README's two commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

export PREFECT_HOME ?= $(CURDIR)/var/prefect
export PREFECT_LOGGING_LEVEL ?= WARNING
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
# Bytecode is cached for every target even where the shell turns it off: otherwise each test
# worker, CLI subprocess and served process compiles carepath (and rewrites the tests) again.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: demo test slow lint typecheck bench reliability docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p $(PREFECT_HOME)
	$(BIN)/carepath demo --home var/demo

# Ends with pytest's own line, "N passed … in S s": the suite's elapsed time.
test: $(STAMP)
	mkdir -p $(PREFECT_HOME)
	$(BIN)/python -m pytest -q

# The heavyweight end-to-end tests `make test` leaves out (marked slow): CI runs them too.
slow: $(STAMP)
	mkdir -p $(PREFECT_HOME)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests flows bench scripts
	$(BIN)/mypy

bench: $(STAMP)
	mkdir -p $(PREFECT_HOME)
	$(BIN)/python -m bench

# Hostile input, security, load and faults (tests/reliability), the slow cases included.
reliability: $(STAMP)
	mkdir -p $(PREFECT_HOME)
	CAREPATH_RELIABILITY=full $(BIN)/python -m pytest -q tests/reliability

# The manual: reference pages regenerated from the code, then a strict build (broken links fail).
docs: $(STAMP)
	$(BIN)/python scripts/docs_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	@echo "manual built: open var/site/index.html"

clean:
	rm -rf var/demo .pytest_cache
