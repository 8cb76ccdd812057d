# Set-up and entry points that work on a fresh machine (Python >= 3.10 with venv).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0

.PHONY: install test test-slow demo bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e ".[dev]"

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

demo: install
	$(BIN)/python examples/demo.py

ORIG_VENV ?= /tmp/orig_lienn_venv

# Benchmarks against the incumbents (benchmark-only installs; the original lie-nn also imports as
# `lie_nn`, so it lives in its own venv and runs in a subprocess).
bench: install
	$(BIN)/pip install -q e3nn
	test -x $(ORIG_VENV)/bin/python || ($(PY) -m venv $(ORIG_VENV) && $(ORIG_VENV)/bin/pip install -q lie-nn)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_cg.py --orig-python $(ORIG_VENV)/bin/python
	$(BIN)/python benchmarks/bench_nn_tensor_product.py

lint: install
	$(BIN)/ruff check lie_nn tests benchmarks examples

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
