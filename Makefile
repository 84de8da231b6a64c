# custseg: `make run` sets everything up and segments the default data; `make test` checks it.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CUSTSEG := $(BIN)/custseg
RAW := data/raw/online-retail.xlsx
OUT := data/processed

.PHONY: help install run dashboard report notebook download synth bench bench-spark bench-quick test test-fast lint typecheck pytest screenshot lock clean install-spark docs

help: ## List every target
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=; off=; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %s%-10s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

$(BIN)/custseg: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

install: $(BIN)/custseg ## Create .venv and install the pinned requirements (and custseg itself)

$(VENV)/.spark-installed: requirements-spark.txt $(BIN)/custseg
	$(BIN)/python -m pip install --quiet -r requirements-spark.txt
	@touch $@

install-spark: $(VENV)/.spark-installed ## Add PySpark 4 (pinned) for --engine spark; needs Java 17+

run: install ## Segment data/raw/online-retail.xlsx (downloaded, or the synthetic default offline)
	@if [ ! -f $(RAW) ]; then \
	  msg=$$($(CUSTSEG) download --dest $(RAW) 2>&1) || \
	    echo "Download impossible ($${msg#error: }) Running on the synthetic default instead."; \
	fi
	$(CUSTSEG) run --out $(OUT)
	@mkdir -p models && cp $(OUT)/model.json models/model.json.tmp && mv models/model.json.tmp models/model.json
	@echo "Outputs: $(OUT)/ (each file is listed on the outputs line above and in docs/outputs.md), models/model.json"

dashboard: install ## Open the Streamlit dashboard (streamlit run app.py) on http://localhost:8501
	$(BIN)/streamlit run app.py

report: install ## PNG charts of the last run in reports/figures/ and its report in reports/report.html
	@test -f $(OUT)/model.json || $(MAKE) run
	$(CUSTSEG) report $(OUT) --figures reports/figures --html reports/report.html

notebook: install ## Execute customer_segmentation.ipynb into reports/customer_segmentation.html
	$(BIN)/jupyter nbconvert --to html --execute customer_segmentation.ipynb --output-dir reports --output customer_segmentation

download: install ## Fetch the UCI Online Retail workbook into data/raw/
	$(CUSTSEG) download --dest $(RAW)

synth: install ## Write synthetic order lines with known segments to data/raw/synthetic-orders.parquet
	$(CUSTSEG) synth --out data/raw/synthetic-orders.parquet

bench: install install-spark ## Run benchmarks/ (about 25 min, about 1.5 GB of data in data/interim/bench) and rewrite BENCHMARKS.md
	$(BIN)/python benchmarks/bench.py

bench-spark: install-spark ## Re-measure only the Spark rows of BENCHMARKS.md (a few minutes)
	$(BIN)/python benchmarks/bench.py --spark

bench-quick: install ## A small benchmark run (under two minutes) into reports/benchmarks-quick.md
	$(BIN)/python benchmarks/bench.py --quick

lint: install ## ruff (lint and format check)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

typecheck: install ## mypy (strict) on the package
	$(BIN)/mypy

pytest: install install-spark ## pytest only (the Spark tests need PySpark: installed here)
	$(BIN)/pytest

test-fast: install ## The unit tests only (no whole commands, browser, processes, database or Spark), on every core
	$(BIN)/pytest -m "not e2e and not spark" -q -n auto

test: lint typecheck docs pytest ## ruff, mypy, the documentation site (--strict) and pytest (what CI runs)

docs: install ## Write docs/commands/ from the command line, build the site into reports/site (--strict)
	$(BIN)/python docs/gen_commands.py > /dev/null
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

screenshot: install ## Re-make docs/dashboard.png with the browser test (needs /usr/bin/chromium)
	CUSTSEG_UPDATE_DOCS=1 $(BIN)/pytest -q tests/dashboard/test_browser.py -k screenshot

lock: ## Re-pin requirements.txt and requirements-spark.txt from pyproject.toml (needs network); keeps today's pins unless UPGRADE=1
	$(PYTHON) -m venv /tmp/custseg-lock && /tmp/custseg-lock/bin/pip install --quiet uv
	grep -v '^-e' requirements.txt > /tmp/custseg-lock/previous.txt
	/tmp/custseg-lock/bin/uv pip compile requirements.in -o requirements.txt --python-version 3.11 --no-header --no-annotate --index-url https://pypi.org/simple $(if $(UPGRADE),,--constraint /tmp/custseg-lock/previous.txt)
	grep -v '^-e' requirements.txt > /tmp/custseg-lock/constraints.txt
	/tmp/custseg-lock/bin/uv pip compile requirements-spark.in -o requirements-spark.txt --constraint /tmp/custseg-lock/constraints.txt --python-version 3.11 --no-header --index-url https://pypi.org/simple

clean: ## Remove outputs and caches (keeps .venv and data/raw)
	rm -rf data/interim/* data/processed/* models/model.json .pytest_cache .mypy_cache .ruff_cache
