# Every target bootstraps its own virtual environment, so each works on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= sqlite:///leadwell-demo.db
SCALE ?= quick
ONLY ?=
PYTEST_ARGS ?=

.PHONY: install demo test test-sqlite lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make demo: install, build the demo workspace in a SQLite file, serve it on http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/leadwell demo --database-url $(DEMO_DB) --serve

## Debian packages the tests use: chromium for the browser tests (never Playwright's own browser
## download), iso-codes for the country table's check, wrk for the tracking load test, dovecot
## (an IMAP server) for the reply-reading tests, openssl for the SMTP tests' TLS certificates.
## Installed when running as root.
SYSTEM_PACKAGES := chromium iso-codes wrk dovecot-imapd openssl
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "tests need these Debian packages: sudo apt-get install $$missing" >&2; exit 1; fi

## make test: lint, type-check and run every test (PostgreSQL too when LEADWELL_TEST_DATABASE_URL is set)
test: $(STAMP) system-deps lint
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## make bench [SCALE=quick|full|<factor>] [ONLY=name]
bench: $(STAMP)
	$(BIN)/python -m bench.run --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache leadwell-demo.db*
