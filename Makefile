# The two README commands: `make demo` (install + run the production graph and the headline evaluation) and
# `make test` (install + tests); follow-ups: `make paper` (the full evaluation of every table and figure), `make ui`.
SHELL := /bin/bash
export RADIOMAP_HOME ?= $(CURDIR)/.radiomap
export RADIOMAP_PROFILE ?= default
export DAGSTER_HOME ?= $(RADIOMAP_HOME)/dagster_home
export DAGSTER_DISABLE_TELEMETRY := 1
export MPLBACKEND := Agg
PY := .venv/bin/python

.PHONY: install demo paper test ui clean

install:
	@scripts/setup.sh

demo: install
	$(PY) -m radiomap_assets.demo

paper: install
	$(PY) -m radiomap_assets.demo --paper

test: install
	RADIOMAP_PROFILE=smoke $(PY) -m pytest -q

# the Dagster web server and daemon (sensors, automation and schedules run by themselves) on :3000, and the MLflow
# UI of the home's store on :5000 (the assets' metadata link to its runs), stopped together
ui: install
	$(PY) -m radiomap_assets.env_setup
	mkdir -p $(RADIOMAP_HOME)/mlflow; .venv/bin/mlflow ui --backend-store-uri sqlite:///$(RADIOMAP_HOME)/mlflow/mlflow.db \
	  --host 127.0.0.1 --port 5000 >$(RADIOMAP_HOME)/mlflow/ui.log 2>&1 & trap "kill $$! 2>/dev/null" EXIT; \
	  .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf $(RADIOMAP_HOME)
