r"""One-jump evaluation of jump models against the held-out MD, with the MD's own noise floor.

For every trained Δ in ``--lags``: start frames every ``--stride`` frames of the test trajectories
(all of the ``test`` split, or those named by ``--test``; their starts are pooled in order),
``--samples`` model endpoints per start, and the statistics of :mod:`models.md_jump.onejump`:

* ``w1_<change>``: Wasserstein distance between the model's pooled changes and the MD's actual ones
  on the same starts (block-bootstrap SE over starts, blocks of Δ);
* ``floor``: the same distance between the pairs of each training trajectory and the test pairs
  (two independent runs of the real dynamics: distances at or below it cannot be told apart), and
  between the first and second half of the pooled test starts;
* ``crps_<change>``: mean CRPS of the model's samples against the MD outcome, and for every model
  after the first, the paired difference to the first model (negative: better than the first);
* with ``--md-samples k``: ``k`` fresh MD runs of Δ from every start (:mod:`models.md_jump.md_rerun`),
  scored like a model — what a perfect model scores (the matched floor);
* a baseline that ignores ``x_t``: ``k`` changes per start drawn from the pooled training pairs (a
  model must beat it in CRPS to show that it uses the start frame);
* ``by_start``: the mean jump RMSD and its CRPS separately for folded starts (Cα RMSD to the folded
  structure below ``--folded-rmsd``) and the others: whether a model's jump size follows the state.

``--steps`` / ``--eps0`` replace every model's sampler settings (a sampling choice, not a retraining).

    python -m models.md_jump.onejump_eval runs/md_jump_equivariant_s0 runs/md_jump_plain_s0 \
        --data data/md_jump --lags 10 100 --out runs/md_jump_onejump
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

from models.common.args import positive_float, positive_int
from models.common.cli import run_cli
from models.common.io import write_json_atomic
from models.md_jump.dataset import frame_pairs, lag_steps, load_eval_data
from models.md_jump.jumper import Jumper
from models.md_jump.metrics import Projection, js_divergence, rmsd_to
from models.md_jump.onejump import CHANGES, block_bootstrap, crps, jump_changes, wasserstein_1d

__all__ = ["main", "model_endpoints", "select_tests"]


def model_endpoints(jumper: Jumper, x0: np.ndarray, ca_in_nodes: np.ndarray, lag_ps: float, k: int,
                    seed: int, batch: int = 256) -> np.ndarray:
    """``k`` sampled endpoints ``(P, k, n_ca, 3)`` (Cα) for start nodes ``x0 (P, n_nodes, 3)``."""
    gen = torch.Generator().manual_seed(int(seed))
    starts = torch.tensor(np.repeat(x0, k, axis=0), dtype=jumper.dtype)
    out = []
    with torch.no_grad():
        for i in range(0, len(starts), batch):
            out.append(jumper.jump(starts[i:i + batch], lag_ps, generator=gen).double().numpy())
    x1 = np.concatenate(out).reshape(len(x0), k, *x0.shape[1:])
    return x1[:, :, ca_in_nodes]


def _w1_stats(p: dict, q: dict, boots_p: np.ndarray, boots_q: np.ndarray | None) -> dict:
    """W1 and JS of every change between samples ``p`` and ``q`` (first axis = starts); bootstrap
    over starts, jointly (paired, ``boots_q is None``) or independently."""
    out = {}
    for c in CHANGES:
        out[f"w1_{c}"] = wasserstein_1d(p[c], q[c])
        out[f"js_{c}"] = js_divergence(p[c], q[c])
        spread = [wasserstein_1d(p[c][b], q[c][b if boots_q is None else bq])
                  for b, bq in zip(boots_p, boots_p if boots_q is None else boots_q, strict=True)]
        out[f"w1_{c}_se"] = float(np.std(spread))
    return out


def _endpoints_changes(jumper: Jumper, tests, heavy: np.ndarray, ca_heavy: np.ndarray, x0: np.ndarray,
                       folded: np.ndarray, proj: Projection, steps: int, lag: float, args) -> dict:
    """The changes ``(P, k)`` of ``k`` model jumps from every start of the test trajectories."""
    sel = list(jumper.selection)
    pos = {int(h): i for i, h in enumerate(sel)}
    if any(int(h) not in pos for h in ca_heavy):
        raise ValueError("the model's graph nodes do not include every Cα")
    ca_in_nodes = np.array([pos[int(h)] for h in ca_heavy])
    n0 = np.concatenate([frame_pairs(t.positions[:, heavy][:, sel], steps, stride=args.stride)[0]
                         for t in tests])
    xm = model_endpoints(jumper, n0, ca_in_nodes, lag, args.samples, args.seed)
    return jump_changes(x0, xm, folded, proj)


def select_tests(trajs, names: list[str] | None) -> list:
    """The test-split trajectories (in manifest order), or those named in ``names`` (each must be one)."""
    tests = [t for t in trajs if t.split == "test"]
    if names:
        have = {t.name: t for t in tests}
        unknown = [n for n in names if n not in have]
        if unknown:
            raise ValueError(f"--test {' '.join(unknown)}: not a test trajectory of the data "
                             f"(test trajectories: {', '.join(have) or 'none'})")
        tests = [have[n] for n in dict.fromkeys(names)]
    if not tests:
        raise ValueError("the data set has no test trajectory")
    return tests


def evaluate_lag(runs: list[Path], jumpers: list[Jumper], heavy: np.ndarray, ca_heavy: np.ndarray, trajs,
                 folded: np.ndarray, proj: Projection, lag: float, args) -> dict:
    tests = select_tests(trajs, args.test)
    steps = lag_steps(lag, tests[0].save_every_ps)
    block = max(1, steps // args.stride)
    rng = np.random.default_rng(args.seed)
    ca = heavy[ca_heavy]
    pairs = [frame_pairs(t.positions[:, ca], steps, stride=args.stride) for t in tests]
    x0, x1 = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
    md = jump_changes(x0, x1, folded, proj)
    n = len(x0)
    is_folded = rmsd_to(x0, folded) < args.folded_rmsd
    boots = block_bootstrap(n, block, args.n_boot, rng)
    result: dict = {"lag_ps": lag, "starts": n, "samples_per_start": args.samples, "block_starts": block,
                    "test": [t.name for t in tests],
                    "test_ns": [round(float(t.time_ps[-1]) / 1000, 3) for t in tests],
                    "md_mean_jump_rmsd": float(md["jump_rmsd"].mean()), "floor": [], "models": [],
                    "folded_starts": int(is_folded.sum()),
                    "md_mean_jump_rmsd_folded": _mean(md["jump_rmsd"][is_folded]),
                    "md_mean_jump_rmsd_unfolded": _mean(md["jump_rmsd"][~is_folded])}
    pooled: dict[str, list] = {c: [] for c in CHANGES}
    for other in (t for t in trajs if t.split == "train"):
        o0, o1 = frame_pairs(other.positions[:, ca], steps, stride=args.stride)
        od = jump_changes(o0, o1, folded, proj)
        for c in CHANGES:
            pooled[c].append(od[c])
        ob = block_bootstrap(len(o0), block, args.n_boot, rng)
        result["floor"].append({"name": f"MD {other.name} vs test", **_w1_stats(od, md, ob, boots)})
    offsets = np.cumsum([0] + [len(p[0]) for p in pairs])
    # each test run against the other test runs (with two runs, one comparison)
    for k, t in enumerate(tests[:1] if len(tests) == 2 else tests if len(tests) > 2 else []):
        inside = np.zeros(n, dtype=bool)
        inside[offsets[k]:offsets[k + 1]] = True
        a, b = ({c: v[m] for c, v in md.items()} for m in (inside, ~inside))
        result["floor"].append({"name": f"MD {t.name} vs other test", **_w1_stats(
            a, b, block_bootstrap(int(inside.sum()), block, args.n_boot, rng),
            block_bootstrap(int((~inside).sum()), block, args.n_boot, rng))})
    half = n // 2
    first = {c: v[:half] for c, v in md.items()}
    second = {c: v[half:2 * half] for c, v in md.items()}
    hb = block_bootstrap(half, block, args.n_boot, rng)
    result["floor"].append({"name": "MD test 1st vs 2nd half",
                            **_w1_stats(first, second, hb, block_bootstrap(half, block, args.n_boot, rng))})
    # baseline that ignores x_t: k changes per start drawn from the pooled training pairs
    draw = rng.integers(0, sum(len(v) for v in pooled[CHANGES[0]]), size=(n, args.samples))
    clim = {c: np.concatenate(v)[draw] for c, v in pooled.items()}
    crps_first = None
    candidates = [(run.name, jumper.kind, _endpoints_changes(jumper, tests, heavy, ca_heavy, x0, folded, proj,
                                                             steps, lag, args))
                  for run, jumper in zip(runs, jumpers, strict=True)]
    candidates.append(("training-pair changes, ignoring x_t", "baseline", clim))
    if args.md_samples:
        from models.md_jump.md_rerun import md_endpoints

        frames = np.concatenate([t.positions[np.arange(0, len(t.positions) - steps, args.stride)]
                                 for t in tests])
        xr = md_endpoints(args.data, frames, lag, args.md_samples, args.seed)
        candidates.append(("MD re-run from the same starts (perfect model)", "md",
                           jump_changes(x0, xr[:, :, ca], folded, proj)))
    for name, kind, mc in candidates:
        row = {"model": name, "kind": kind, **_w1_stats(mc, md, boots, None)}
        row["mean_jump_rmsd"] = float(mc["jump_rmsd"].mean())
        scores = {c: crps(mc[c], md[c]) for c in CHANGES}
        for label, m in (("folded", is_folded), ("unfolded", ~is_folded)):
            row[f"mean_jump_rmsd_{label}"] = _mean(mc["jump_rmsd"][m])
            row[f"crps_jump_rmsd_{label}"] = _mean(scores["jump_rmsd"][m])
        for c in CHANGES:
            row[f"crps_{c}"] = float(scores[c].mean())
            row[f"crps_{c}_se"] = float(np.std([scores[c][b].mean() for b in boots]))
            if crps_first is not None:
                d = scores[c] - crps_first[c]
                row[f"crps_{c}_minus_first"] = float(d.mean())
                row[f"crps_{c}_minus_first_se"] = float(np.std([d[b].mean() for b in boots]))
        crps_first = crps_first or scores
        result["models"].append(row)
    return result


def _mean(a: np.ndarray) -> float | None:
    return float(a.mean()) if a.size else None


def _table(results: list[dict]) -> str:
    lines = ["| Δ (ps) | compared | W1 ΔTIC1 | W1 ΔRMSD (Å) | W1 ΔRg (Å) | W1 jump RMSD (Å) |",
             "|---|---|---|---|---|---|"]
    for r in results:
        for row in r["floor"] + r["models"]:
            name = row.get("name") or f"{row['model']} vs MD test"
            cells = [f"{row[f'w1_{c}']:.3f} ± {row[f'w1_{c}_se']:.3f}" for c in CHANGES]
            lines.append(f"| {r['lag_ps']:g} | {name} | " + " | ".join(cells) + " |")
    lines += ["", "| Δ (ps) | model | CRPS ΔTIC1 | CRPS ΔRMSD (Å) | CRPS ΔRg (Å) | CRPS jump RMSD (Å) |",
              "|---|---|---|---|---|---|"]
    for r in results:
        for row in r["models"]:
            cells = []
            for c in CHANGES:
                cell = f"{row[f'crps_{c}']:.3f} ± {row[f'crps_{c}_se']:.3f}"
                d = f"crps_{c}_minus_first"
                if d in row:
                    cell += f" (Δ {row[d]:+.3f} ± {row[d + '_se']:.3f})"
                cells.append(cell)
            lines.append(f"| {r['lag_ps']:g} | {row['model']} | " + " | ".join(cells) + " |")
    lines += ["", "| Δ (ps) | model | mean jump RMSD (Å), folded starts | unfolded starts | "
              "CRPS jump RMSD, folded | unfolded |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['lag_ps']:g} | MD ({r['folded_starts']} of {r['starts']} starts folded) | "
                     f"{_fmt(r['md_mean_jump_rmsd_folded'])} | {_fmt(r['md_mean_jump_rmsd_unfolded'])} "
                     "| – | – |")
        for row in r["models"]:
            lines.append(f"| {r['lag_ps']:g} | {row['model']} | " + " | ".join(
                _fmt(row[k]) for k in ("mean_jump_rmsd_folded", "mean_jump_rmsd_unfolded",
                                       "crps_jump_rmsd_folded", "crps_jump_rmsd_unfolded")) + " |")
    return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.md_jump.onejump_eval",
                                description=__doc__.split("\n")[0])
    p.add_argument("runs", type=Path, nargs="+", help="run directories holding model.pt")
    p.add_argument("--data", type=Path, default=Path("data/md_jump"))
    p.add_argument("--out", type=Path, required=True, help="directory for onejump.json")
    p.add_argument("--lags", type=float, nargs="+", default=[10.0, 100.0], help="Δs to evaluate (ps)")
    p.add_argument("--test", nargs="+", default=None, metavar="NAME",
                   help="test trajectories to start from (default: every trajectory of the test split)")
    p.add_argument("--stride", type=positive_int, default=5, help="frames between start frames")
    p.add_argument("--samples", type=positive_int, default=4, help="model endpoints per start")
    p.add_argument("--md-samples", type=int, default=0,
                   help="also score k fresh OpenMM runs of Δ from every start (the matched floor; slow)")
    p.add_argument("--n-boot", type=positive_int, default=200)
    p.add_argument("--folded-rmsd", type=positive_float, default=2.5,
                   help="folded start if Cα RMSD < this (Å)")
    p.add_argument("--steps", type=positive_int, default=None, help="sampler steps for every model")
    p.add_argument("--eps0", type=float, default=None, help="sampler ε_0 (Å) for every model")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)
    topology, heavy, trajs, _, folded, proj = load_eval_data(args.data)
    ca_heavy = np.asarray(topology.ca)
    select_tests(trajs, args.test)  # unknown --test names: one clear error before any work
    if args.eps0 is not None and not args.eps0 >= 0:
        raise ValueError(f"--eps0 must be >= 0, got {args.eps0}")
    jumpers = [Jumper.load(run / "model.pt") for run in args.runs]
    sampler = {k: v for k, v in (("steps", args.steps), ("eps0", args.eps0)) if v is not None}
    for j in jumpers:
        j.interpolant = dataclasses.replace(j.interpolant, **sampler)
    for j in jumpers:
        for lag in args.lags:
            j.lag_index(lag)  # a Δ the model was not trained for: one clear error before any work
        topology.check(j.topology)
    results = [evaluate_lag(args.runs, jumpers, heavy, ca_heavy, trajs, folded, proj, lag, args)
               for lag in args.lags]
    args.out.mkdir(parents=True, exist_ok=True)
    settings = vars(args) | {"runs": [str(r) for r in args.runs], "data": str(args.data),
                             "out": str(args.out)}
    write_json_atomic(args.out / "onejump.json", {"projection": proj.method, "results": results,
                                                  "settings": settings})
    print(_table(results))
    print(f"wrote {args.out / 'onejump.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
