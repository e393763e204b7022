# Halley: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HALLEY_HOME ?= $(CURDIR)/.halley
export HALLEY_HOME

.PHONY: run test install install-test browser postgres redis oidc-provider bench demo clean lint-deploy

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

install-test: $(VENV)/.installed-test browser postgres redis oidc-provider

# Debian's Chromium and its driver for the browser tests, installed only when missing.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver; \
	fi

# Debian's PostgreSQL server binaries for the PostgreSQL tests, installed only when missing. The
# tests run their own throwaway cluster, so the package is told not to create (and start) one.
postgres:
	@if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO mkdir -p /etc/postgresql-common/createcluster.d && \
		echo "create_main_cluster = false" | $$SUDO tee /etc/postgresql-common/createcluster.d/halley-tests.conf >/dev/null && \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends postgresql; \
	fi

# Debian's Redis server for the multi-server test (a broker for `halley worker`), installed only
# when missing. The test runs its own throwaway instance, so the packaged service is not started.
redis:
	@if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $$SUDO apt-get install -y -q --no-install-recommends redis-server; \
	fi

# The OpenID Connect provider the single sign-on tests sign in at (tests/oidc_provider: node and
# the pinned `oidc-provider` package), installed only when missing.
oidc-provider:
	@if ! command -v npm >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends nodejs npm; \
	fi
	@if [ ! -d tests/oidc_provider/node_modules ]; then \
		cd tests/oidc_provider && npm ci --no-audit --no-fund --loglevel=error; \
	fi

# On first start, log the demo project (HALLEY_DEMO=0 skips it; a failed demo doesn't block serving).
run: install
	@if [ "$${HALLEY_DEMO:-1}" != "0" ]; then \
		$(BIN)/halley demo --if-empty || echo "The demo project could not be logged; serving anyway." >&2; \
	fi
	$(BIN)/halley serve

demo: install
	$(BIN)/halley demo

# The PostgreSQL and single sign-on tests fail (not skip) when PostgreSQL or the OpenID provider
# is missing; HALLEY_TEST_POSTGRES=0 and HALLEY_TEST_OIDC=0 skip them. The multi-server test
# needs both PostgreSQL and Redis (installed above).
# The suite runs in TEST_WORKERS pytest-xdist processes, each test file whole in one of them (its
# module fixtures are set up once); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2

test: install-test lint-deploy
	HALLEY_TEST_POSTGRES=$${HALLEY_TEST_POSTGRES:-1} HALLEY_TEST_OIDC=$${HALLEY_TEST_OIDC:-1} $(BIN)/python -m pytest -q \
		-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The deployment files: docker-compose.yml (with `docker compose config` when the plugin is
# installed, else deploy/check.py's own checks), the Dockerfile (built only when a container
# daemon answers) and deploy/halley.service. LINT_DEPLOY_ARGS=--no-build skips the build.
lint-deploy: install-test
	$(BIN)/python deploy/check.py $(LINT_DEPLOY_ARGS)

bench: install browser
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .halley
