# Two entry points for a new machine: `make demo` and `make test`.
# Each creates .venv in the checkout, installs fluoro into it and runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m fluoro.cli demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check fluoro tests bench
	$(VENV)/bin/mypy fluoro/daemon fluoro/ingest fluoro/store fluoro/query fluoro/api fluoro/forwarder fluoro/sampling fluoro/local fluoro/console fluoro/background.py fluoro/server.py fluoro/cli.py

bench: $(STAMP)
	$(PY) bench/sdk_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info
