r"""CPU time of one training step (forward, backward, AdamW) per model, in interleaved rounds.

::

    python -m models.top_tagging.step_time --data data/top_tagging_8k --rounds 7 --steps 6

Every round times ``--steps`` steps of each candidate in turn (one thread, ``time.process_time``, a
batch of 64 validation jets with 32 constituents, glibc set up as in training by
:func:`~models.common.memory.keep_freed_memory`), so load changes on a shared machine hit all of them
alike; it prints min / median / max over the rounds of the milliseconds per step.  Candidates: the tuned
LorentzTagger (``--basis real --input-norm``) with the edge-list + ``index_add_`` message path (the
default) and with the dense ``(nodes, k)`` neighbour path, and ParticleNet at the benchmark's size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from models.common.cli import run_cli
from models.common.memory import keep_freed_memory

__all__ = ["candidates", "time_step"]


def candidates() -> dict[str, torch.nn.Module]:
    """Fresh float32 models, seeded: the tuned LorentzTagger (dense and edge-list paths), ParticleNet."""
    from models.top_tagging.model import LorentzTagger, LorentzTaggerConfig
    from models.top_tagging.train import build_model

    models: dict[str, torch.nn.Module] = {}
    for name, dense in (("lorentz_tuned dense", True), ("lorentz_tuned edge-list", False)):
        torch.manual_seed(0)
        models[name] = LorentzTagger(LorentzTaggerConfig(basis="real", input_norm=True))
        models[name].dense_messages = dense
    torch.manual_seed(0)
    models["particlenet"] = build_model("particlenet", {"width": 32, "blocks": 2})
    return models


def time_step(model: torch.nn.Module, opt: torch.optim.Optimizer, batch: tuple[torch.Tensor, ...],
              steps: int) -> float:
    """Mean CPU milliseconds of ``steps`` training steps (BCE loss, backward, clip, optimiser step)."""
    p, mask, label = batch
    start = time.process_time()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(p, mask), label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return 1e3 * (time.process_time() - start) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.top_tagging.step_time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/top_tagging_8k")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.steps < 1:
        raise ValueError("--rounds and --steps must be positive integers")
    from models.top_tagging.train import load_split

    torch.set_num_threads(1)
    keep_freed_memory()  # as models.top_tagging.train does: no page faults on every large allocation
    d = load_split(args.data, "val", 32, 64)
    batch = (d["p"], d["mask"], d["label"])
    models = candidates()
    opts = {k: torch.optim.AdamW(m.parameters(), lr=2e-3) for k, m in models.items()}
    for name, model in models.items():  # warm-up
        model.train()
        time_step(model, opts[name], batch, 2)
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            times[name].append(time_step(model, opts[name], batch, args.steps))
    print(f"ms per training step (batch 64 x 32, 1 thread, {args.rounds} interleaved rounds of {args.steps})")
    for name, t in times.items():
        print(f"{name:26s} min {min(t):6.1f}  median {statistics.median(t):6.1f}  max {max(t):6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
