# Two entry points for a fresh machine (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= workspaces/demo.gpkg
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-quick install install-test demo browser fonts bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp files make re-runs fast; they are rebuilt when setup.cfg changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m planner.locate._warm  # compile the solvers' numba kernels now, not in a first answer
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m planner.locate._warm
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(WORKSPACE): | $(VENV)/.installed
	$(BIN)/ruralplan demo --workspace $(WORKSPACE)

demo: $(VENV)/.installed
	$(BIN)/ruralplan demo --workspace $(WORKSPACE) --force

run: $(VENV)/.installed $(WORKSPACE) fonts
	$(BIN)/ruralplan serve --workspace $(WORKSPACE) --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests and poppler's pdftotext to read the PDFs they print;
# installed only when missing (needs root, as in CI).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftotext >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk poppler-utils >/dev/null; \
		else echo "Chromium or pdftotext missing and not root: browser tests will be skipped"; fi; \
	fi

# Printed maps (matplotlib) need a CJK font for Chinese names; Debian's Noto CJK, installed only when
# missing (needs root). Without it the app still runs, and printed Chinese shows as boxes.
fonts:
	@if ! (command -v fc-list >/dev/null && fc-list :lang=zh | grep -qi "Noto Sans CJK"); then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fontconfig >/dev/null; \
		else echo "No Noto Sans CJK font and not root: printed maps will show Chinese as boxes"; fi; \
	fi

test: $(VENV)/.installed-test browser fonts
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The development profile: no hypothesis sweeps, browser or real-data tests (marked in tests/conftest.py).
test-quick: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS)

# ruff (rules in pyproject.toml): unused/undefined names, real-bug patterns, 120 columns.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) workspaces test-artifacts .pytest_cache
