# Two commands take a fresh clone to a running dashboard and a tested one:
#   make run    virtualenv, install, embedded PostgreSQL + Redis (unless DATABASE_URL /
#               REDIS_URL are set), demo data on first start, server on http://127.0.0.1:8050
#   make test   the whole suite (browser tests use Debian's chromium, the two-host test
#               Debian's nginx; both installed on demand)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint browser-deps nginx-deps clean

$(STAMP): pyproject.toml
	@echo "Creating the virtual environment in $(VENV) and installing (the first time takes a few minutes)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@echo "Installed."
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/campaign-dash run

# Debian's chromium for the browser tests (root or passwordless sudo; skipped when present).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's nginx for the two-host test (tests/test_two_hosts.py) and `bench --hosts 2`: they
# start a private nginx of their own (own config and prefix in a temp dir, a free loopback
# port), never the system's service. Root or passwordless sudo; skipped when present.
nginx-deps:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  LOCK="-o DPkg::Lock::Timeout=600"; \
	  $$SUDO apt-get update -qq $$LOCK && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$LOCK nginx >/dev/null; }

test: $(STAMP) browser-deps nginx-deps
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
