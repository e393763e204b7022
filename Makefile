# Halley: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HALLEY_HOME ?= $(CURDIR)/.halley
export HALLEY_HOME

.PHONY: run test install install-test browser bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test browser

# Debian's Chromium and its driver for the browser tests, installed only when missing.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver; \
	fi

# On first start, log the demo project (HALLEY_DEMO=0 skips it; a failed demo doesn't block serving).
run: install
	@if [ "$${HALLEY_DEMO:-1}" != "0" ]; then \
		$(BIN)/halley demo --if-empty || echo "The demo project could not be logged; serving anyway." >&2; \
	fi
	$(BIN)/halley serve

demo: install
	$(BIN)/halley demo

test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .halley
