# The two commands of README's quick start. Each sets up .venv itself on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Elsewhere, point this at the CPU wheels: TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

.PHONY: install run test bench bench-scale clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first: an unpinned torch resolves to a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0 \
		$(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The service on http://127.0.0.1:8000 with the embedded defaults, in single-user local mode
# (no API keys); it indexes corpus/ first, or brings the index up to date.
run: $(STAMP)
	$(BIN)/coach serve --local --host 127.0.0.1 --port 8000

# The web page's end-to-end tests drive Debian's Chromium (Playwright never downloads one).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

# The database tests run on SQLite and on PostgreSQL: Debian's server, on a throwaway cluster
# the tests start themselves (and fail, never skip, without it).
PG_CTL := $(or $(firstword $(wildcard /usr/lib/postgresql/*/bin/pg_ctl)),/usr/lib/postgresql/missing/bin/pg_ctl)

$(PG_CTL):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null

# The learning records' tests send xAPI statements to a real LRS: Ralph, in a venv of its own
# (its pins differ from ours); the tests start it themselves.
RALPH_VENV := .venv-ralph
RALPH := $(RALPH_VENV)/bin/ralph

$(RALPH):
	$(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		"ralph-malph[cli,lrs]==5.1.0" requests

test: $(STAMP) $(CHROMIUM) $(PG_CTL) $(RALPH)
	$(BIN)/ruff check coach api tests bench
	$(BIN)/ruff format --check coach api tests bench
	$(BIN)/mypy
	$(BIN)/coach lint corpus
	$(BIN)/pytest -q
	$(BIN)/coach eval --check

bench: $(STAMP)
	$(BIN)/python bench/index_bench.py

# Issue #16's figures at organisation scale (10,000 documents; about half an hour; run it alone).
bench-scale: $(STAMP)
	$(BIN)/python bench/scale_bench.py --docs 10000

clean:
	rm -rf $(VENV) $(RALPH_VENV) indexes/gen-* indexes/CURRENT indexes/corpus-files.json
