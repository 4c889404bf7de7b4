# Everything runs inside .venv, installed from pyproject.toml pinned by constraints.txt.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The test tools plus every optional part (the tests cover all calendar kinds, Dask and plots; mutmut).
EXTRAS := dev,caldav,google,microsoft,exchange,dask,plots,mutate

.PHONY: setup proto console test test-install fuzz thorough mutate lint bench demo serve-demo clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

# Regenerates convene/v1/*_pb2*.py from proto/ (tests fail if they are stale).
proto: setup
	$(BIN)/python -m server.protogen

# Rebuilds the agent's console (console/dist, committed, so nothing here needs node) from
# console/src and proto/: npm ci from the lock file, TypeScript from proto/, vite build, stamp.
console: setup
	cd console && npm ci --no-audit --no-fund
	cd console && ../$(BIN)/buf generate && npm run build
	$(BIN)/python console/stamp.py

# The slow property runs (-m slow) and the install test have targets of their own.
test: setup
	$(BIN)/pytest -m "not install and not slow"

# A fresh venv with `pip install .` (no extras) serves the ICS demo: minutes, not seconds (ortools unpacks).
test-install: setup
	$(BIN)/pytest -m install tests/test_install.py

# The API only grows: buf breaking (FILE rules, buf.yaml) against the last committed API, which on
# a branch is the proto/ where it left main and on main the last commit.
API_BASE ?= $(shell git merge-base HEAD main 2>/dev/null || echo HEAD)

# The hostile-input fuzz test over every RPC with many more examples than make test's 1000.
FUZZ_EXAMPLES ?= 20000
fuzz: setup
	CONVENE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/server/api/test_fuzz.py

# The brute-force property tests with ten times the examples (the thorough Hypothesis profile)
# and the runs marked slow: tens of minutes.
thorough: setup
	HYPOTHESIS_PROFILE=thorough $(BIN)/pytest -m "not install" tests/solver

# Mutation testing (mutmut, [tool.mutmut] in pyproject.toml) of the modules that carry the
# promises; docs/testing.md reviews every survivor. mutants/ is scratch (ignored by git).
mutate: setup
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 | tr '\r' '\n' | grep -v '^\s*$$' | tail -n 3
	$(BIN)/mutmut results

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy solver providers server bench
	rm -rf $(VENV)/api-base && mkdir -p $(VENV)/api-base
	git archive $(API_BASE) proto buf.yaml | tar -x -C $(VENV)/api-base
	$(BIN)/buf breaking --against $(VENV)/api-base

bench: setup
	$(BIN)/python -m bench

demo: setup
	$(BIN)/python -m server.cli.demo

# The demo, then serving on (gRPC on 127.0.0.1:50051, the console on http://127.0.0.1:8080/) until
# Ctrl-C; calendars and bookings in a temporary copy, so no tracked file changes.
serve-demo: setup
	$(BIN)/python -m server.cli.demo --serve

clean:
	rm -rf $(VENV) bench/out
