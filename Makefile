# Set-up and entry points that work on a fresh machine (Python >= 3.10 with venv).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0

.PHONY: install install-hep test test-slow demo docs bench bench-sc lint clean top-data top-train
.PHONY: install-peers top-peers-r8k top-curve top-same-epochs top-budget10
.PHONY: top-data-r8k top-test60k top-tune top-t60k
.PHONY: top-step-time

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
		--batch-size 64 --threads 2 --basis complex --out runs/top_lorentz --resume
	$(BIN)/python -m models.top_tagging.evaluate runs/top_lorentz runs/top_deepsets_s0 \
		--data $(TOP_DATA)_test --threads 2 --plot docs/top_tagging_roc.png
	$(BIN)/python -m models.top_tagging.metrics history runs/top_lorentz runs/top_deepsets_s0 \
		--out docs/top_tagging_history.png

# Issue 15: every tagger (LorentzTagger, Deep Sets, LorentzNet, L-GATr, PELICAN, ParticleNet, ParT) on the
# same jets, one CPU budget per run, bootstrap errors (models/top_tagging/benchmark.py, docs/top_tagging.md).
# weaver-core's model code needs torch only: --no-deps spares its training stack (tensorboard, numba, ...).
install-peers: install-hep
	$(BIN)/pip install -q "lgatr==2.0.0" "pelican-lite==1.1.4" $(TORCH_PIN)
	$(BIN)/pip install -q --no-deps "weaver-core==0.5.3"

# The reduced first comparison (8k jets of the 40k stream, 16k of the 60k test stream; ~25 CPU-min).
top-peers-r8k: install-peers
	test -f data/top_tagging_8k/manifest.json || $(BIN)/python -m models.top_tagging.data generate \
		--out data/top_tagging_8k --n-jets 8000 --seed 1 --chunk-jets 250 --workers 1
	test -f data/top_tagging_test16k/manifest.json || $(BIN)/python -m models.top_tagging.data generate \
		--out data/top_tagging_test16k --n-jets 16000 --seed 2 --chunk-jets 250 --workers 1
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.benchmark --data data/top_tagging_8k \
		--test data/top_tagging_test16k --cpu-budget 2.5 --seeds 0 --prefix runs/top_r8k \
		--plot docs/top_tagging_r8k_roc.png
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.benchmark --data data/top_tagging_8k \
		--test data/top_tagging_test16k --cpu-budget 2.5 --seeds 0 --epochs 7 \
		--models deepsets particlenet part --prefix runs/top_r8k_ep7

# Issue 15, second session: the 60k test set (the same jets as `make top-data`'s test set; its first 16k are
# data/top_tagging_test16k, whose chunks are reused), the LorentzTagger tuning runs (validation split only),
# the three-seed comparison at 2.5 CPU-min and the first data-efficiency points (docs/top_tagging.md).
TOP_TUNE = $(BIN)/python -m models.top_tagging.train --model lorentz --data data/top_tagging_8k --batch-size 64 \
	--seed 0 --threads 1 --cpu-budget 2.5 --resume --quiet --basis real
top-test60k: install-hep
	test -f data/top_tagging_test60k/manifest.json || $(BIN)/python -m models.top_tagging.data generate \
		--out data/top_tagging_test60k --n-jets 60000 --seed 2 --chunk-jets 250 --workers 1 \
		$(if $(wildcard data/top_tagging_test16k/manifest.json),--reuse data/top_tagging_test16k)
top-data-r8k: install-hep
	test -f data/top_tagging_8k/manifest.json || $(BIN)/python -m models.top_tagging.data generate \
		--out data/top_tagging_8k --n-jets 8000 --seed 1 --chunk-jets 250 --workers 1
top-tune: top-data-r8k
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 11 --lr 2e-3 --out runs/top_tune_real_c16_k8
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 20 --lr 2e-3 --channels 8 --out runs/top_tune_real_c8_k8
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 16 --lr 2e-3 --k 4 --out runs/top_tune_real_c16_k4
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 20 --lr 5e-3 --channels 8 --out runs/top_tune_real_c8_k8_lr5
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 11 --lr 2e-3 --input-norm --out runs/top_tune_real_c16_k8_norm
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 11 --lr 2e-3 --edge-scalars --out runs/top_tune_real_c16_k8_es
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 10 --lr 2e-3 --input-norm --edge-scalars --out runs/top_tune_real_c16_k8_norm_es
	OMP_NUM_THREADS=1 $(TOP_TUNE) --epochs 10 --lr 5e-3 --input-norm --out runs/top_tune_real_c16_k8_norm_lr5
# (top-peers-r8k: the last `compare` step rescores session 1's L-GATr, PELICAN and complex-basis runs;
# finished runs are reused, and its 16k test set is the prefix that top-test60k copies.)
top-t60k: install-peers top-data-r8k top-peers-r8k top-test60k
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.benchmark --data data/top_tagging_8k \
		--test data/top_tagging_test60k --cpu-budget 2.5 --seeds 0 1 2 --prefix runs/top_r8k \
		--models lorentz_tuned particlenet part deepsets lorentznet --report runs/top_r8k_t60k \
		--plot docs/top_tagging_t60k_roc.png
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.benchmark --data data/top_tagging_8k \
		--test data/top_tagging_test60k --cpu-budget 2.5 --seeds 0 1 2 --prefix runs/top_r8k \
		--models lorentz_tuned particlenet --max-train 1000 4000 6000 --report runs/top_r8k_curve \
		--curve docs/top_tagging_r8k_curve.png
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.benchmark --data data/top_tagging_8k \
		--test data/top_tagging_test60k --cpu-budget 2.5 --seeds 0 1 2 --prefix runs/top_r8k \
		--models part --max-train 1000 6000 --report runs/top_r8k_curve_part
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.compare runs/top_r8k_lorentz_tuned_nall_s0 \
		runs/top_r8k_particlenet_nall_s0 runs/top_r8k_part_nall_s0 runs/top_r8k_deepsets_nall_s0 \
		runs/top_r8k_lorentznet_nall_s0 runs/top_r8k_lorentz_nall_s0 runs/top_r8k_lgatr_nall_s0 \
		runs/top_r8k_pelican_nall_s0 --data data/top_tagging_test60k --mass-window \
		--plot docs/top_tagging_t60k_roc_s0.png
# Issue 15, third session: the data-efficiency curve from 1k to 32k training jets (16k and 32k come from the
# 40k jets of `make top-data`, whose training split is 32k; 1k-6k from data/top_tagging_8k), ours, ParticleNet and
# ParT, 3 seeds, 2.5 CPU-min each (~110 CPU-min from scratch), and the same-epochs table: every model for 11 epochs,
# the tuned tagger's count at 6k jets and 2.5 CPU-min (~60 CPU-min).  Finished runs and scores are reused.
TOP_BENCH = OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.benchmark --test data/top_tagging_test60k
TOP_CURVE_RUNS = $(foreach m,lorentz_tuned particlenet part,$(foreach s,0 1 2,\
	$(foreach n,1000 4000 all,runs/top_r8k_$(m)_n$(n)_s$(s)) $(foreach n,16000 all,runs/top_r40k_$(m)_n$(n)_s$(s))))
top-curve: install-peers top-data-r8k top-test60k top-data
	$(TOP_BENCH) --data data/top_tagging_8k --cpu-budget 2.5 --seeds 0 1 2 --prefix runs/top_r8k \
		--models lorentz_tuned particlenet part --max-train 1000 4000 6000 --skip-score
	$(TOP_BENCH) --data $(TOP_DATA) --cpu-budget 2.5 --seeds 0 1 2 --prefix runs/top_r40k \
		--models lorentz_tuned particlenet part --max-train 16000 32000 --skip-score
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.compare $(TOP_CURVE_RUNS) \
		--data data/top_tagging_test60k --out runs/top_curve_compare.json --table runs/top_curve_table.md \
		--summary runs/top_curve_summary.md --curve docs/top_tagging_curve.png
# Is the 32k point limited by the budget?  Ours and ParticleNet, seed 0, 10 CPU-min each (~25 CPU-min).
top-budget10: install-peers top-test60k top-data
	$(TOP_BENCH) --data $(TOP_DATA) --cpu-budget 10 --seeds 0 --prefix runs/top_r40k_b10 \
		--models lorentz_tuned particlenet --skip-score
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.compare runs/top_r40k_b10_lorentz_tuned_nall_s0 \
		runs/top_r40k_b10_particlenet_nall_s0 --data data/top_tagging_test60k --table runs/top_b10_table.md
top-same-epochs: install-peers top-data-r8k top-test60k
	$(TOP_BENCH) --data data/top_tagging_8k --cpu-budget 2.5 --seeds 0 1 2 --prefix runs/top_r8k \
		--models lorentz_tuned --skip-score
	$(TOP_BENCH) --data data/top_tagging_8k --cpu-budget 30 --epochs 11 --seeds 0 1 2 --prefix runs/top_r8k_ep11 \
		--models particlenet part deepsets lorentznet --skip-score
	$(TOP_BENCH) --data data/top_tagging_8k --cpu-budget 30 --epochs 11 --seeds 0 --prefix runs/top_r8k_ep11 \
		--models lgatr pelican --skip-score
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.compare $(foreach s,0 1 2,runs/top_r8k_lorentz_tuned_nall_s$(s) \
		$(foreach m,particlenet part deepsets lorentznet,runs/top_r8k_ep11_$(m)_nall_s$(s))) \
		runs/top_r8k_ep11_lgatr_nall_s0 runs/top_r8k_ep11_pelican_nall_s0 --data data/top_tagging_test60k \
		--out runs/top_ep11_compare.json --table runs/top_ep11_table.md --summary runs/top_ep11_summary.md \
		--plot docs/top_tagging_ep11_roc.png
top-step-time: install-peers top-data-r8k
	OMP_NUM_THREADS=1 $(BIN)/python -m models.top_tagging.step_time --data data/top_tagging_8k --rounds 9 --steps 6

ORIG_VENV ?= /tmp/orig_lienn_venv

# Benchmarks against the incumbents (benchmark-only installs; the original lie-nn also imports as
# `lie_nn`, so it lives in its own venv and runs in a subprocess).
bench: install
	$(BIN)/pip install -q e3nn
	test -x $(ORIG_VENV)/bin/python || ($(PY) -m venv $(ORIG_VENV) && $(ORIG_VENV)/bin/pip install -q lie-nn)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_cg.py --orig-python $(ORIG_VENV)/bin/python
	$(BIN)/python benchmarks/bench_nn_tensor_product.py
	$(BIN)/python benchmarks/bench_interaction.py

# SymmetricContraction vs mace-torch (mace-torch without its training-stack dependencies).
bench-sc: install
	$(BIN)/pip install -q e3nn $(TORCH_PIN)
	$(BIN)/pip install -q --no-deps mace-torch
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_nn_symmetric_contraction.py

lint: install
	$(BIN)/ruff check lie_nn tests benchmarks examples models

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache

# ---- MACE potential (models/mace_potential, docs/mace_potential.md) -------------------------------
# GFN2-xTB benchmark (aspirin, ethanol, 3BPA); the lie_nn MACE potential and mace-torch (own venv,
# it pins e3nn 0.4.4) trained on the same splits with the same CPU-time budget (one thread each),
# test errors, NVE MD, the one-process speed benchmark and the plots of the docs page.
CHEM_PINS ?= ase tblite rdkit vesin tqdm matplotlib
MACE_DATA ?= data/mace
MACE_VENV ?= $(VENV)/mace-peer
MACE_MOLECULES ?= aspirin 3bpa ethanol
MACE_CPU_MIN_aspirin ?= 5
MACE_CPU_MIN_3bpa ?= 1.5
MACE_CPU_MIN_ethanol ?= 1
MACE_MD_PS ?= 10
MACE_PY = OMP_NUM_THREADS=1 $(BIN)/python
MACE_PEER_PY = OMP_NUM_THREADS=1 PYTHONPATH=. $(MACE_VENV)/bin/python
# train set / test sets of a molecule
mace_train = $(if $(filter 3bpa,$(1)),3bpa_train_300K,$(1)_train)
mace_tests = $(if $(filter 3bpa,$(1)),3bpa_test_300K 3bpa_test_600K 3bpa_test_1200K,$(1)_test)

.PHONY: install-chem mace-data mace-train mace-peer mace-eval mace-ethanol-seed1 mace-md mace-bench mace-docs

install-chem: install
	$(BIN)/pip install -q $(CHEM_PINS)

mace-data: install-chem
	$(MACE_PY) -m models.mace_potential.data --out $(MACE_DATA)

mace-train: mace-data
	$(foreach m,$(MACE_MOLECULES),(test -f runs/mace_$(m)/model.pt || $(MACE_PY) -m models.mace_potential.train \
	  --data $(MACE_DATA) --train-set $(call mace_train,$(m)) --out runs/mace_$(m) --epochs 30 \
	  --cpu-budget $(MACE_CPU_MIN_$(m)) --force) &&) true

$(MACE_VENV)/bin/mace_run_train:
	$(PY) -m venv $(MACE_VENV)
	$(MACE_VENV)/bin/pip install -q $(TORCH_PIN) mace-torch vesin rdkit

mace-peer: mace-data $(MACE_VENV)/bin/mace_run_train
	$(foreach m,$(MACE_MOLECULES),(test -f runs/peer_$(m)/peer.model || $(MACE_PY) -m models.mace_potential.peer \
	  --data $(MACE_DATA) --train-set $(call mace_train,$(m)) --out runs/peer_$(m) \
	  --cpu-budget $(MACE_CPU_MIN_$(m)) --mace-bin $(MACE_VENV)/bin) &&) true

mace-eval: mace-train mace-peer
	$(foreach m,$(MACE_MOLECULES),$(MACE_PY) -m models.mace_potential.evaluate --kind lie \
	  --model runs/mace_$(m)/model.pt --data $(MACE_DATA) --sets $(call mace_tests,$(m)) --out runs/mace_$(m)/eval.json && \
	  $(MACE_PEER_PY) -m models.mace_potential.evaluate --kind mace --model runs/peer_$(m)/peer.model \
	  --data $(MACE_DATA) --sets $(call mace_tests,$(m)) --out runs/peer_$(m)/eval.json &&) true

# The second ethanol seed of docs/mace_potential.md (both models, --seed 1: new split and initialisation).
mace-ethanol-seed1: mace-data $(MACE_VENV)/bin/mace_run_train
	$(MACE_PY) -m models.mace_potential.train --data $(MACE_DATA) --train-set ethanol_train \
	  --out runs/mace_ethanol_s1 --epochs 30 --cpu-budget $(MACE_CPU_MIN_ethanol) --force --seed 1
	$(MACE_PY) -m models.mace_potential.peer --data $(MACE_DATA) --train-set ethanol_train \
	  --out runs/peer_ethanol_s1 --cpu-budget $(MACE_CPU_MIN_ethanol) --mace-bin $(MACE_VENV)/bin --seed 1
	$(MACE_PY) -m models.mace_potential.evaluate --kind lie --model runs/mace_ethanol_s1/model.pt \
	  --data $(MACE_DATA) --sets ethanol_test --out runs/mace_ethanol_s1/eval.json
	$(MACE_PEER_PY) -m models.mace_potential.evaluate --kind mace --model runs/peer_ethanol_s1/peer.model \
	  --data $(MACE_DATA) --sets ethanol_test --out runs/peer_ethanol_s1/eval.json

mace-md: mace-train mace-peer
	$(MACE_PY) -m models.mace_potential.md --kind lie --model runs/mace_aspirin/model.pt --data $(MACE_DATA) \
	  --set aspirin_test --ps $(MACE_MD_PS) --out runs/mace_aspirin/nve.json
	$(MACE_PEER_PY) -m models.mace_potential.md --kind mace --model runs/peer_aspirin/peer.model --data $(MACE_DATA) \
	  --set aspirin_test --ps $(MACE_MD_PS) --out runs/peer_aspirin/nve.json

mace-bench: mace-train mace-peer
	$(MACE_PEER_PY) -m models.mace_potential.benchmark --ours runs/mace_aspirin/model.pt \
	  --peer runs/peer_aspirin/peer.model --data $(MACE_DATA) --set aspirin_test --out runs/bench_aspirin.json

mace-docs: mace-eval mace-md mace-bench
	$(MACE_PY) -m models.mace_potential.report --runs runs --docs docs

# ---- shape recognition (models/shape_recognition, docs/shape_recognition.md) ----
# KiCad component meshes (Debian kicad-packages3d via apt-get download), VTK for VRML, trimesh sampling.
SHAPES_PINS ?= vtk trimesh matplotlib tqdm
SHAPES_DATA ?= data/shapes
SHAPES_RUNS ?= runs/shapes

.PHONY: install-shapes shapes-data shapes-train shapes-tune

install-shapes: install
	$(BIN)/pip install -q $(SHAPES_PINS)

shapes-data: install-shapes
	test -f $(SHAPES_DATA)/manifest.json || OMP_NUM_THREADS=1 $(BIN)/python -m models.shape_recognition.data \
		generate --out $(SHAPES_DATA) --cache data/cache/kicad
	$(BIN)/python -m models.shape_recognition.data info --data $(SHAPES_DATA)

# The runs of the table (15 epochs, 128 points each; an interrupted run continues bit-exactly), the pose
# evaluation, the figures and the table of docs/shape_recognition.md.  The equivariant settings were
# chosen on a validation split of TRAIN (shapes-tune), never on test.
SHAPES_TRAIN = OMP_NUM_THREADS=1 $(BIN)/python -m models.shape_recognition.train --data $(SHAPES_DATA) --resume
SHAPES_EQ = --model equivariant --channels 32 --geometry 8 24 --point-head 128

shapes-train: shapes-data
	$(SHAPES_TRAIN) $(SHAPES_EQ) --out $(SHAPES_RUNS)_equivariant_none --epochs 15
	for m in dgcnn pointnet; do for a in none so3; do \
		$(SHAPES_TRAIN) --model $$m --augment $$a --out $(SHAPES_RUNS)_$${m}_$$a --epochs 15 || exit 1; \
	done; done
	$(SHAPES_TRAIN) --model dgcnn --out $(SHAPES_RUNS)_dgcnn_none_25ep --epochs 25  # equal CPU time
	$(SHAPES_TRAIN) $(SHAPES_EQ) --seed 1 --out runs/seed1_equivariant_none --epochs 15
	$(SHAPES_TRAIN) --model dgcnn --seed 1 --out runs/seed1_dgcnn_none --epochs 15
	OMP_NUM_THREADS=1 $(BIN)/python -m models.shape_recognition.evaluate $(SHAPES_RUNS)_equivariant_none/ \
		$(SHAPES_RUNS)_dgcnn_*/ $(SHAPES_RUNS)_pointnet_*/ runs/seed1_*/
	OMP_NUM_THREADS=1 $(BIN)/python -m models.shape_recognition.evaluate $(SHAPES_RUNS)_equivariant_none \
		$(SHAPES_RUNS)_dgcnn_none --paired rotated canonical
	$(BIN)/python -m models.shape_recognition.report $(SHAPES_RUNS)_equivariant_none/ runs/seed1_equivariant_none/ \
		$(SHAPES_RUNS)_dgcnn_none/ runs/seed1_dgcnn_none/ $(SHAPES_RUNS)_dgcnn_none_25ep/ $(SHAPES_RUNS)_dgcnn_so3/ \
		$(SHAPES_RUNS)_pointnet_*/ --data $(SHAPES_DATA) --docs docs

# Tuning runs of the equivariant model on families held out from TRAIN (validation accuracy in history.jsonl).
SHAPES_TUNE = $(SHAPES_TRAIN) --validation 0.2 --epochs 15

shapes-tune: shapes-data
	$(SHAPES_TUNE) --model equivariant --channels 32 --geometry 8 24 --out runs/tune_eq32_geo
	$(SHAPES_TUNE) --model equivariant --channels 32 --geometry 8 24 --layers 3 --out runs/tune_eq32_geo_l3
	$(SHAPES_TUNE) $(SHAPES_EQ) --out runs/tune_eq32_geo_ph
	$(SHAPES_TUNE) $(SHAPES_EQ) --geometry 8 24 64 --out runs/tune_eq32_geo3_ph
	$(SHAPES_TUNE) $(SHAPES_EQ) --dropout 0.3 --out runs/tune_eq32_geo_ph_drop
	$(SHAPES_TUNE) --model dgcnn --out runs/tune_dgcnn_none
	$(BIN)/python -m models.shape_recognition.report --tuning runs/tune_eq32_geo runs/tune_eq32_geo_l3 \
		runs/tune_eq32_geo_ph runs/tune_eq32_geo3_ph runs/tune_eq32_geo_ph_drop runs/tune_dgcnn_none

# ---- molecule generation (models/molecule_generation, docs/molecule_generation.md) ----
# QM9 from the qm9pack 1.0.3 wheel (~104 MB, the [qm9] extra, not in dev), Symphony-style generator and
# a non-equivariant MLP peer, each trained until its cosine schedule (QM9_SAMPLES / QM9_PEER_SAMPLES
# fragments) ends, at most QM9_TOTAL CPU-minutes, in chunks (a first one of QM9_FIRST_CHUNK, then
# QM9_CHUNK each; every chunk leaves a snapshot = a point of the learning curve).  Samples from every
# snapshot but the last, QM9_FINAL_N from the final weights, two ablations, metrics, figures.
QM9_DATA ?= data/qm9
QM9_RUNS ?= runs/qm9gen
QM9_FIRST_CHUNK ?= 2
QM9_CHUNK ?= 0.6
QM9_CHUNKS ?= 6
QM9_TOTAL ?= 8
QM9_SAMPLES ?= 36000
QM9_PEER_SAMPLES ?= 115000
QM9_CURVE_N ?= 200
QM9_FINAL_N ?= 10000
QM9_ABLATION_N ?= 1000
QM9_REFINE ?= 8
QM9_PY = OMP_NUM_THREADS=1 $(BIN)/python
QM9_TRAIN = $(QM9_PY) -m models.molecule_generation.train --data $(QM9_DATA) --lr 3e-3 \
	--resume --threads 1 --total-cpu-budget $(QM9_TOTAL)
QM9_GEN = $(QM9_PY) -m models.molecule_generation.generate --refine $(QM9_REFINE)

.PHONY: install-qm9 qm9-data qm9-train qm9-generate

install-qm9: install
	$(BIN)/pip install -q -e ".[torch,dev,qm9]" $(TORCH_PIN)

qm9-data: install-qm9
	test -f $(QM9_DATA)/manifest.json || $(QM9_PY) -m models.molecule_generation.data --out $(QM9_DATA) \
		--seed 0 --n-train 100000 --n-valid 10000

qm9-train: qm9-data
	for b in $(QM9_FIRST_CHUNK) $$(for k in $$(seq $(QM9_CHUNKS)); do echo $(QM9_CHUNK); done); do \
		$(QM9_TRAIN) --cpu-budget $$b --samples $(QM9_SAMPLES) --out $(QM9_RUNS) || exit 1; done
	for b in $(QM9_FIRST_CHUNK) $$(for k in $$(seq $(QM9_CHUNKS)); do echo $(QM9_CHUNK); done); do \
		$(QM9_TRAIN) --cpu-budget $$b --samples $(QM9_PEER_SAMPLES) --kind mlp --out $(QM9_RUNS)_mlp || exit 1; done

# Every sample set is skipped when its SDF exists (idempotent); the last snapshot's point of the
# learning curve is the final sample set.
qm9-generate: qm9-train
	for s in $$(ls $(QM9_RUNS)/snapshots/cpu_*.pt | head -n -1) $$(ls $(QM9_RUNS)_mlp/snapshots/cpu_*.pt | \
		head -n -1); do test -f $${s%.pt}.sdf || $(QM9_GEN) $$s --n $(QM9_CURVE_N) --seed 1 \
		--out $${s%.pt}.sdf || exit 1; done
	for r in $(QM9_RUNS) $(QM9_RUNS)_mlp; do test -f $$r/samples.sdf || $(QM9_GEN) $$r --n $(QM9_FINAL_N) \
		--seed 2 --out $$r/samples.sdf || exit 1; done
	test -f $(QM9_RUNS)/samples_t05.sdf || $(QM9_GEN) $(QM9_RUNS) --n $(QM9_ABLATION_N) --seed 3 \
		--temperature 0.5 --out $(QM9_RUNS)/samples_t05.sdf
	test -f $(QM9_RUNS)/samples_grid.sdf || $(QM9_GEN) $(QM9_RUNS) --n $(QM9_ABLATION_N) --seed 2 \
		--refine 1 --out $(QM9_RUNS)/samples_grid.sdf
	$(QM9_PY) -m models.molecule_generation.evaluate --data $(QM9_DATA) --out $(QM9_RUNS)/metrics.json \
		--sdf $(QM9_RUNS)/samples*.sdf $(QM9_RUNS)_mlp/samples.sdf $(QM9_RUNS)/snapshots/*.sdf \
		$(QM9_RUNS)_mlp/snapshots/*.sdf
	$(QM9_PY) -m models.molecule_generation.symmetry --data $(QM9_DATA) --runs $(QM9_RUNS) $(QM9_RUNS)_mlp \
		--out $(QM9_RUNS)/symmetry.json
	$(QM9_PY) -m models.molecule_generation.report --data $(QM9_DATA) --runs $(QM9_RUNS) $(QM9_RUNS)_mlp \
		--docs docs

# ---- protein autoencoder (models/protein_autoencoder, docs/protein_autoencoder.md) ----
# MDAnalysisTests structures read with gemmi; the SO(3)-equivariant hourglass and its non-equivariant
# peer (random rotations) at compression 2, 4, 8 (and a second seed at 4), each with the same CPU
# budget (one thread).
PROTEIN_DATA ?= data/protein
PROTEIN_RUNS ?= runs/protein
PROTEIN_CPU_MIN ?= 2
PROTEIN_PY = OMP_NUM_THREADS=1 $(BIN)/python

.PHONY: install-protein protein-data protein-train protein-docs

install-protein: install
	$(BIN)/pip install -q -e ".[torch,dev,protein]" $(TORCH_PIN)

protein-data: install-protein
	test -f $(PROTEIN_DATA)/manifest.json || $(PROTEIN_PY) -m models.protein_autoencoder.data generate \
		--out $(PROTEIN_DATA) --seed 0
	$(PROTEIN_PY) -m models.protein_autoencoder.data info --data $(PROTEIN_DATA)

protein-train: protein-data
	for lv in 1 2 3; do for m in equivariant peer; do \
		test -f $(PROTEIN_RUNS)_$${m}_l$$lv/model.pt || $(PROTEIN_PY) -m models.protein_autoencoder.train \
		  --model $$m --levels $$lv --data $(PROTEIN_DATA) --out $(PROTEIN_RUNS)_$${m}_l$$lv \
		  --cpu-budget $(PROTEIN_CPU_MIN) --threads 1 --quiet --resume || exit 1; \
	done; done
	for m in equivariant peer; do \
		test -f $(PROTEIN_RUNS)_$${m}_l2_s1/model.pt || $(PROTEIN_PY) -m models.protein_autoencoder.train \
		  --model $$m --levels 2 --seed 1 --data $(PROTEIN_DATA) --out $(PROTEIN_RUNS)_$${m}_l2_s1 \
		  --cpu-budget $(PROTEIN_CPU_MIN) --threads 1 --quiet --resume || exit 1; \
	done

protein-docs: protein-train
	$(PROTEIN_PY) -m models.protein_autoencoder.evaluate $(PROTEIN_RUNS)_*_l? --data $(PROTEIN_DATA) \
		--out $(PROTEIN_RUNS)_eval.json
	$(PROTEIN_PY) -m models.protein_autoencoder.evaluate $(PROTEIN_RUNS)_*_l2_s1 --data $(PROTEIN_DATA) \
		--out $(PROTEIN_RUNS)_eval_s1.json
	$(PROTEIN_PY) -m models.protein_autoencoder.interpolate --model $(PROTEIN_RUNS)_equivariant_l2/model.pt \
		--peer $(PROTEIN_RUNS)_peer_l2/model.pt --steps 9 --out $(PROTEIN_RUNS)_adk --plot docs/protein_interpolation.png
	$(PROTEIN_PY) -m models.protein_autoencoder.report --eval $(PROTEIN_RUNS)_eval.json \
		--data $(PROTEIN_DATA) --docs docs

# ---- Hamiltonian (models/hamiltonian, docs/hamiltonian.md) ----------------------------------------
# PBE/def2-SVP Fock matrices (pyscf) on GFN2-xTB MD geometries of water, ethanol, malondialdehyde and
# uracil; the equivariant network and the MLP peer (rotation augmentation) trained with the same settings
# and CPU-minute budget on one thread (--epochs-from-budget: the same rule sets both schedules).
HAM_DATA ?= data/hamiltonian
HAM_MOLECULES = water ethanol malondialdehyde uracil
HAM_CPU_MIN_water ?= 1
HAM_CPU_MIN_ethanol ?= 1.5
HAM_CPU_MIN_malondialdehyde ?= 1.5
HAM_CPU_MIN_uracil ?= 2
HAM_SEEDS_water ?= 0 1
HAM_SEEDS_ethanol ?= 0 1
HAM_SEEDS_malondialdehyde ?= 0
HAM_SEEDS_uracil ?= 0
HAM_TRAIN_ARGS ?= --batch-size 2 --eps-weight 0.001 --epochs-from-budget
HAM_PY = OMP_NUM_THREADS=1 $(BIN)/python

.PHONY: install-ham ham-data ham-train ham-eval

install-ham: install
	$(BIN)/pip install -q -e ".[torch,dev,ham]" $(TORCH_PIN)

ham-data: install-ham
	test -f $(HAM_DATA)/uracil.npz || $(HAM_PY) -m models.hamiltonian.data --out $(HAM_DATA)

ham-train: ham-data
	$(foreach m,$(HAM_MOLECULES),$(foreach k,equivariant mlp,$(foreach s,$(HAM_SEEDS_$(m)),\
	  (test -f runs/ham_$(m)_$(k)_s$(s)/best.pt || $(HAM_PY) -m models.hamiltonian.train --data $(HAM_DATA) \
	  --molecule $(m) --model $(k) --seed $(s) --threads 1 --cpu-budget $(HAM_CPU_MIN_$(m)) $(HAM_TRAIN_ARGS) \
	  --quiet --out runs/ham_$(m)_$(k)_s$(s)) &&))) true

ham-eval: ham-train
	$(foreach m,$(HAM_MOLECULES),$(HAM_PY) -m models.hamiltonian.evaluate \
	  $(foreach k,equivariant mlp,$(foreach s,$(HAM_SEEDS_$(m)),runs/ham_$(m)_$(k)_s$(s))) \
	  --out docs/hamiltonian_$(m).json &&) true
	$(HAM_PY) -m models.hamiltonian.report summary $(foreach m,$(HAM_MOLECULES),docs/hamiltonian_$(m).json)
	$(HAM_PY) -m models.hamiltonian.report table $(foreach m,$(HAM_MOLECULES),docs/hamiltonian_$(m).json)
	$(HAM_PY) -m models.hamiltonian.report matrices runs/ham_ethanol_equivariant_s0 runs/ham_ethanol_mlp_s0 \
	  --out docs/hamiltonian_ethanol_matrices.png
	$(HAM_PY) -m models.hamiltonian.report curves $(foreach m,$(HAM_MOLECULES),\
	  $(foreach k,equivariant mlp,runs/ham_$(m)_$(k)_s0)) --out docs/hamiltonian_curves.png

# ---- voxel segmentation (models/voxel_segmentation, docs/voxel_segmentation.md) ----
# nilearn's MNI152 2 mm template (offline), the equivariant U-Net and MONAI's UNet (with and without
# rotation augmentation), each trained for the same CPU budget on one thread, then the pose evaluation,
# the figures and the table of the docs page.
VOXEL_DATA ?= data/voxel
VOXEL_RUNS ?= runs/voxel
VOXEL_CPU_MIN ?= 3
VOXEL_PY = OMP_NUM_THREADS=1 $(BIN)/python
VOXEL_TRAIN = $(VOXEL_PY) -m models.voxel_segmentation.train --data $(VOXEL_DATA) --cpu-budget $(VOXEL_CPU_MIN) \
	--threads 1

.PHONY: install-voxel voxel-data voxel-train

install-voxel: install
	$(BIN)/pip install -q -e ".[torch,dev,voxel]" $(TORCH_PIN)

voxel-data: install-voxel
	test -f $(VOXEL_DATA)/manifest.json || $(VOXEL_PY) -m models.voxel_segmentation.data generate --out $(VOXEL_DATA)
	$(VOXEL_PY) -m models.voxel_segmentation.data info --data $(VOXEL_DATA)

voxel-train: voxel-data
	test -f $(VOXEL_RUNS)_equivariant/checkpoint.pt || $(VOXEL_TRAIN) --model equivariant --out $(VOXEL_RUNS)_equivariant
	test -f $(VOXEL_RUNS)_monai/checkpoint.pt || $(VOXEL_TRAIN) --model monai --out $(VOXEL_RUNS)_monai
	test -f $(VOXEL_RUNS)_monai_rot/checkpoint.pt || $(VOXEL_TRAIN) --model monai --rotate-augment \
		--out $(VOXEL_RUNS)_monai_rot
	$(VOXEL_PY) -m models.voxel_segmentation.evaluate $(VOXEL_RUNS)_equivariant $(VOXEL_RUNS)_monai \
		$(VOXEL_RUNS)_monai_rot --data $(VOXEL_DATA) --out $(VOXEL_RUNS)_eval.json
	$(VOXEL_PY) -m models.voxel_segmentation.report $(VOXEL_RUNS)_eval.json --data $(VOXEL_DATA) --docs docs

# ---- MD jumps (models/md_jump, docs/md_jump.md) ----------------------------------------------------
# Chignolin trajectories with OpenMM (about 34 CPU minutes), the equivariant jump model and the plain
# peer (rotation augmentation) with the same CPU budget per run and seed, the rollout evaluation against
# the held-out trajectory and the figures of the docs page. An interrupted step continues where it stopped.
MD_DATA ?= data/md_jump
MD_RUNS ?= runs/md_jump
MD_CPU_MIN ?= 3.5
MD_EPOCHS_equivariant ?= 7
MD_EPOCHS_plain ?= 32
MD_SEEDS ?= 0 1
MD_HELDOUT ?= test:folded:4:5000
MD_TRAIN_ADD ?= train:folded:5:3000 train:folded:7:600
# folded-start candidates, kept (in MD_TRAIN_ADD) only by their own folded fraction and 10 ps mobility
MD_CANDIDATES ?= train:folded:6:600 train:folded:7:600 train:folded:8:600
MD_PY = OMP_NUM_THREADS=1 $(BIN)/python

.PHONY: install-md md-data md-train md-eval md-onejump md-valscan md-startnoise md-candidates

install-md: install
	$(BIN)/pip install -q -e ".[torch,dev,md]" $(TORCH_PIN)

# 2 x 1 ns training + 1 ns held out (about 11.5 CPU minutes), + a second held-out trajectory MD_HELDOUT
# (5 ns, about 12.5 CPU minutes) for the one-jump evaluation, then a third training trajectory from the
# folded start MD_TRAIN_ADD (3 ns, about 8 CPU minutes, + the kept 0.6 ns candidate, under 2): about 34 in all
md-data: install-md
	test -f $(MD_DATA)/manifest.json || $(MD_PY) -m models.md_jump.data --out $(MD_DATA)
	for a in $(MD_HELDOUT) $(MD_TRAIN_ADD); do \
		n=$$(echo $$a | awk -F: '{print $$1 "_" $$2 "_s" $$3}'); \
		grep -q "\"$$n\"" $(MD_DATA)/manifest.json || $(MD_PY) -m models.md_jump.data --out $(MD_DATA) --add $$a || exit 1; \
	done

# 2 models x MD_SEEDS, each capped at MD_CPU_MIN; on the four training runs each stops at its epoch
# count first (7 / 32 epochs: the optimiser steps of 20 / 90 epochs on the first two runs)
md-train: md-data
	for s in $(MD_SEEDS); do \
		test -f $(MD_RUNS)_equivariant_s$$s/model.pt || $(MD_PY) -m models.md_jump.train --data $(MD_DATA) \
			--model equivariant --epochs $(MD_EPOCHS_equivariant) --seed $$s --cpu-budget $(MD_CPU_MIN) --out $(MD_RUNS)_equivariant_s$$s --resume || exit 1; \
		test -f $(MD_RUNS)_plain_s$$s/model.pt || $(MD_PY) -m models.md_jump.train --data $(MD_DATA) \
			--model plain --augment --epochs $(MD_EPOCHS_plain) --seed $$s --cpu-budget $(MD_CPU_MIN) --out $(MD_RUNS)_plain_s$$s --resume || exit 1; \
	done

md-eval: md-train
	$(MD_PY) -m models.md_jump.evaluate $(foreach s,$(MD_SEEDS),$(MD_RUNS)_equivariant_s$(s) $(MD_RUNS)_plain_s$(s)) \
		--data $(MD_DATA) --out $(MD_RUNS)_eval
	$(MD_PY) -m models.md_jump.report $(MD_RUNS)_eval --docs docs

# one-jump statistics vs the held-out MD and the MD-vs-MD noise floor (docs/md_jump.md, "One-jump evaluation")
md-onejump: md-train
	$(MD_PY) -m models.md_jump.onejump_eval $(foreach s,$(MD_SEEDS),$(MD_RUNS)_equivariant_s$(s) $(MD_RUNS)_plain_s$(s)) \
		--data $(MD_DATA) --out $(MD_RUNS)_onejump

# the equivariant model trained with noise on x_t (0.2 Å), for chained rollouts (docs: "Error accumulation")
md-startnoise: md-data
	test -f $(MD_RUNS)_equivariant_noise0.2_s0/model.pt || $(MD_PY) -m models.md_jump.train --data $(MD_DATA) \
		--model equivariant --start-noise 0.2 --epochs $(MD_EPOCHS_equivariant) --seed 0 --cpu-budget $(MD_CPU_MIN) \
		--out $(MD_RUNS)_equivariant_noise0.2_s0 --resume

# the folded-start candidates in a copy of the data set (MD_DATA stays as it is), then each run's own
# folded fraction and 10 ps mobility (docs/md_jump.md, "Training runs that stay folded"; about 5 CPU minutes)
md-candidates: md-data
	test -d $(MD_DATA)_cand || cp -a $(MD_DATA) $(MD_DATA)_cand
	$(MD_PY) -m models.md_jump.data --out $(MD_DATA)_cand $(foreach a,$(MD_CANDIDATES),--add $(a))
	$(MD_PY) -m models.md_jump.traj_stats --data $(MD_DATA)_cand

# diagnosis on the validation pairs only: loss by interpolation time s, jump statistics by sampler setting
md-valscan: md-train
	$(MD_PY) -m models.md_jump.val_scan $(foreach s,$(MD_SEEDS),$(MD_RUNS)_equivariant_s$(s) $(MD_RUNS)_plain_s$(s)) \
		--data $(MD_DATA) --settings 20:0.5 100:0.5 20:0.25 20:1 --out $(MD_RUNS)_val_scan
