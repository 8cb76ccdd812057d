# Set-up and entry points that work on a fresh machine (Python >= 3.10 with venv).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0

.PHONY: install install-hep test test-slow demo docs bench bench-sc lint clean top-data top-train

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The core needs numpy + sympy only; the torch layers, the tests and the models need the extras.
install: $(BIN)/python
	$(BIN)/pip install -q -e ".[torch,dev]" $(TORCH_PIN)

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

demo: install
	$(BIN)/python examples/demo.py

# The documentation site (mkdocs-material + mkdocstrings), built with --strict into site/.
docs: install
	$(BIN)/pip install -q -e ".[torch,dev,docs]" $(TORCH_PIN)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

# Lorentz top tagger (models/top_tagging): generate jets locally, train both models, plot the ROC.
# The [hep] extra pins pythia8mc 8.317.2, the newest release with a CPython 3.11 Linux wheel (8.318 is
# source-only).
TOP_DATA ?= data/top_tagging
TOP_JETS ?= 40000

install-hep: install
	$(BIN)/pip install -q -e ".[torch,dev,hep]" $(TORCH_PIN)

top-data: install-hep
	test -f $(TOP_DATA)/manifest.json || $(BIN)/python -m models.top_tagging.data generate \
		--out $(TOP_DATA) --n-jets $(TOP_JETS) --seed 1 --workers 1
	test -f $(TOP_DATA)_test/manifest.json || $(BIN)/python -m models.top_tagging.data generate \
		--out $(TOP_DATA)_test --n-jets 60000 --seed 2 --workers 2
	$(BIN)/python -m models.top_tagging.overview --data $(TOP_DATA) --out docs/top_tagging_data.png

# The measured runs of docs/top_tagging.md (about 20 minutes on 2 CPU cores).
top-train: top-data
	$(BIN)/python -m models.top_tagging.train --model deepsets --data $(TOP_DATA) --epochs 30 \
		--out runs/top_deepsets_s0 --resume
	$(BIN)/python -m models.top_tagging.train --model lorentz --data $(TOP_DATA) --epochs 15 \
		--batch-size 64 --threads 2 --out runs/top_lorentz --resume
	$(BIN)/python -m models.top_tagging.evaluate runs/top_lorentz runs/top_deepsets_s0 \
		--data $(TOP_DATA)_test --threads 2 --plot docs/top_tagging_roc.png
	$(BIN)/python -m models.top_tagging.metrics history runs/top_lorentz runs/top_deepsets_s0 \
		--out docs/top_tagging_history.png

ORIG_VENV ?= /tmp/orig_lienn_venv

# Benchmarks against the incumbents (benchmark-only installs; the original lie-nn also imports as
# `lie_nn`, so it lives in its own venv and runs in a subprocess).
bench: install
	$(BIN)/pip install -q e3nn
	test -x $(ORIG_VENV)/bin/python || ($(PY) -m venv $(ORIG_VENV) && $(ORIG_VENV)/bin/pip install -q lie-nn)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_cg.py --orig-python $(ORIG_VENV)/bin/python
	$(BIN)/python benchmarks/bench_nn_tensor_product.py

# SymmetricContraction vs mace-torch (mace-torch without its training-stack dependencies).
bench-sc: install
	$(BIN)/pip install -q e3nn $(TORCH_PIN)
	$(BIN)/pip install -q --no-deps mace-torch
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_nn_symmetric_contraction.py

lint: install
	$(BIN)/ruff check lie_nn tests benchmarks examples models

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache

# ---- shape recognition (models/shape_recognition, docs/shape_recognition.md) ----
# KiCad component meshes (Debian kicad-packages3d via apt-get download), VTK for VRML, trimesh sampling.
SHAPES_PINS ?= vtk trimesh matplotlib tqdm
SHAPES_DATA ?= data/shapes
SHAPES_RUNS ?= runs/shapes

.PHONY: install-shapes shapes-data shapes-train

install-shapes: install
	$(BIN)/pip install -q $(SHAPES_PINS)

shapes-data: install-shapes
	test -f $(SHAPES_DATA)/manifest.json || OMP_NUM_THREADS=1 $(BIN)/python -m models.shape_recognition.data \
		generate --out $(SHAPES_DATA) --cache data/cache/kicad
	$(BIN)/python -m models.shape_recognition.data info --data $(SHAPES_DATA)

# The runs of the table (15 epochs each; an interrupted run continues bit-exactly), the long PointNet
# run (100 epochs), the pose evaluation, the figures and the table of docs/shape_recognition.md.
SHAPES_TRAIN = OMP_NUM_THREADS=1 $(BIN)/python -m models.shape_recognition.train --data $(SHAPES_DATA) --resume

shapes-train: shapes-data
	$(SHAPES_TRAIN) --model equivariant --out $(SHAPES_RUNS)_equivariant_none --epochs 15
	$(SHAPES_TRAIN) --model equivariant --global-readout --out $(SHAPES_RUNS)_equivariant_global_none --epochs 15
	for m in pointnet dgcnn; do for a in none so3; do \
		$(SHAPES_TRAIN) --model $$m --augment $$a --out $(SHAPES_RUNS)_$${m}_$$a --epochs 15 || exit 1; \
	done; done
	$(SHAPES_TRAIN) --model pointnet --augment so3 --out $(SHAPES_RUNS)_long_pointnet_so3 --epochs 100
	OMP_NUM_THREADS=1 $(BIN)/python -m models.shape_recognition.evaluate $(SHAPES_RUNS)_*/
	$(BIN)/python -m models.shape_recognition.report $(SHAPES_RUNS)_*/ --data $(SHAPES_DATA) --docs docs
