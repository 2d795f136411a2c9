# capsite: `make run` serves the site, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench install migrate data clean browser rehearsal nginx

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

data: migrate
	$(BIN)/python manage.py load_market_data
	$(BIN)/python manage.py load_demo

run: data
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install browser
	$(BIN)/pytest $(PYTEST_ARGS)

# Browser tests drive Debian's Chromium (Playwright cannot fetch its own here).
# Install it when missing and possible (root with apt-get); otherwise those
# tests fail saying how to install it, or CAPSITE_SKIP_BROWSER=1 skips them.
browser:
	@if [ "$$CAPSITE_SKIP_BROWSER" = 1 ] || command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "chromium missing: apt-get update && apt-get install -y chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    || echo "chromium install failed: the browser tests will fail"; \
	else \
	  echo "chromium missing and not installable here (needs root and apt-get):"; \
	  echo "run 'apt-get install -y chromium' or set CAPSITE_SKIP_BROWSER=1"; \
	fi

# Two app servers behind nginx with PostgreSQL, Redis and a Celery worker, one
# server killed mid-load (deploy/README.md). Needs nginx: installed when missing
# and possible (root with apt-get).
rehearsal: install nginx
	deploy/rehearsal

nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "nginx missing: apt-get update && apt-get install -y nginx"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
	else \
	  echo "nginx missing and not installable here: apt-get install -y nginx"; exit 1; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with django-stubs: --strict on the pure core, plain elsewhere (pyproject.toml).
typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/market_page.py
	$(BIN)/python bench/portfolio_page.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/compare.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/portfolio_http.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
