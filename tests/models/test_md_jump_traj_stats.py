"""Per-trajectory state statistics (models/md_jump/traj_stats.py) on tiny synthetic frames."""

import numpy as np

from models.md_jump.traj_stats import FOLDED_RMSD, main, state_stats


def _chain(rng: np.random.Generator, n: int = 10) -> np.ndarray:
    return np.cumsum(rng.normal(size=(n, 3)), axis=0) * 2.0


def test_folded_fraction_and_jump_size_are_measured_per_state():
    rng = np.random.default_rng(0)
    folded = _chain(rng)
    near = folded + 0.1 * rng.normal(size=(40, *folded.shape))  # RMSD ~0.17 Å: folded, small jumps
    far = _chain(rng)[None] + 0.5 * rng.normal(size=(40, *folded.shape))  # another shape: unfolded
    s = state_stats(np.concatenate([near, far]), folded, lag=10, block=40)
    assert s["folded_by_block"] == [1.0, 0.0]
    assert s["folded_fraction"] == 0.5
    assert s["n_folded_starts"] == 40  # jumps start at frames 0..69; the first 40 are folded
    a, b = state_stats(near, folded), state_stats(far, folded)
    assert a["folded_fraction"] == 1.0 and b["folded_fraction"] == 0.0 and b["jump10_from_folded"] is None
    assert a["jump10_mean"] == a["jump10_from_folded"] < 0.3 < b["jump10_mean"]
    assert FOLDED_RMSD == 2.5


def test_cli_refuses_a_missing_data_set_with_one_line(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
