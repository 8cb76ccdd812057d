"""Test-suite set-up: single-threaded BLAS (many tiny dense solves run faster that way on 2 cores)
and a private on-disk cache directory per test session."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# Tests start from a cold, private disk cache unless the caller chose a directory.
if "LIE_NN_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["LIE_NN_CACHE_DIR"] = tempfile.mkdtemp(prefix="lie_nn_test_cache_")

# CI runs every property test on the same, derandomized examples: a red CI run is reproducible.
from hypothesis import settings  # noqa: E402  (after the thread settings above)

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
