"""Monte Carlo generation of boosted top-quark and QCD jets (Pythia 8 + FastJet).

One call of :func:`generate_jets` runs one Pythia instance with one random seed (a *chunk*) until it
has accepted the requested number of jets.  Chunks are independent, so a data set is a deterministic
function of its chunk seeds and sizes, whatever the number of worker processes that ran them.

Per event:

1. final-state visible particles (status > 0, neutrinos removed, ``|eta| < particle_abs_eta_max``);
2. anti-kt clustering with radius ``R`` (E-scheme: the jet 4-momentum is the sum of its constituents);
3. candidate jets: ``jet_pt_min < pT < jet_pt_max`` and ``|eta| < jet_abs_eta_max``;
4. top events only: the jet must contain a hadronically decaying top — the top quark, its b quark and
   both quarks of the W decay within ``Delta R < match_radius`` of the jet axis, with
   ``Delta R^2 = Delta y^2 + Delta phi^2`` (rapidity, as in FastJet);
5. the hardest jet passing 3.-4. is kept (at most one jet per event): its constituents sorted by
   pT (descending), the first ``max_constituents`` stored as ``(E, px, py, pz)`` float64, zero-padded.

``pythia8mc``, ``fastjet`` and ``awkward`` (a fastjet dependency) are optional; they are imported on
first use so that the rest of the package works without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

TOP, QCD = 1, 0
CLASS_NAMES = {TOP: "top", QCD: "qcd"}
MAX_PYTHIA_SEED = 900_000_000
NEUTRINO_IDS = (12, 14, 16)

QUIET_SETTINGS = (
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
)
PROCESS_SETTINGS = {
    TOP: ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"),
    QCD: ("HardQCD:all = on",),
}


@dataclass(frozen=True)
class GenerationConfig:
    """Physics settings of the generation: beams, hard-process window, jet and matching cuts."""

    ecm: float = 14000.0
    pthat_min: float = 500.0
    pthat_max: float = 700.0
    mpi: bool = True
    jet_radius: float = 0.8
    jet_pt_min: float = 550.0
    jet_pt_max: float = 650.0
    jet_abs_eta_max: float = 2.0
    particle_abs_eta_max: float = 3.0
    match_radius: float = 0.8
    max_constituents: int = 200

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_label(label: int) -> int:
    if label not in (TOP, QCD):
        raise ValueError(f"label must be {TOP} (top) or {QCD} (QCD), got {label!r}")
    return int(label)


def pythia_settings(label: int, seed: int, config: GenerationConfig | None = None) -> list[str]:
    """All ``readString`` lines used for one chunk (physics settings first, then output silencing).

    >>> pythia_settings(0, 7)[:3]
    ['Beams:eCM = 14000.0', 'PhaseSpace:pTHatMin = 500.0', 'PhaseSpace:pTHatMax = 700.0']
    """
    label, config = check_label(label), GenerationConfig() if config is None else config
    if not (isinstance(seed, int | np.integer) and 0 < seed <= MAX_PYTHIA_SEED):
        raise ValueError(f"Pythia seed must be an integer in [1, {MAX_PYTHIA_SEED}], got {seed!r}")
    physics = [
        f"Beams:eCM = {config.ecm}",
        f"PhaseSpace:pTHatMin = {config.pthat_min}",
        f"PhaseSpace:pTHatMax = {config.pthat_max}",
        *PROCESS_SETTINGS[label],
        f"PartonLevel:MPI = {'on' if config.mpi else 'off'}",
        "PartonLevel:ISR = on",
        "PartonLevel:FSR = on",
        "HadronLevel:all = on",
        "Random:setSeed = on",
        f"Random:seed = {int(seed)}",
    ]
    return physics + list(QUIET_SETTINGS)


def make_pythia(settings: Sequence[str]) -> Any:
    """An initialised ``pythia8mc.Pythia`` instance; RuntimeError if a setting or init is rejected."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in settings:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed; settings: " + "; ".join(settings))
    return pythia


# ----------------------------------------------------------------------------------------------------
# kinematics on (..., 4) arrays in the (E, px, py, pz) convention


def pt_of(p4: np.ndarray) -> np.ndarray:
    return np.hypot(p4[..., 1], p4[..., 2])


def eta_of(p4: np.ndarray) -> np.ndarray:
    """Pseudorapidity ``asinh(pz / pT)`` (infinite along the beam axis)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.arcsinh(p4[..., 3] / pt_of(p4))


def rapidity_of(p4: np.ndarray) -> np.ndarray:
    """Rapidity ``(1/2) log((E + pz) / (E - pz))``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * np.log((p4[..., 0] + p4[..., 3]) / (p4[..., 0] - p4[..., 3]))


def delta_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sqrt(Delta y^2 + Delta phi^2)`` between broadcastable 4-momentum arrays."""
    dphi = np.arctan2(a[..., 2], a[..., 1]) - np.arctan2(b[..., 2], b[..., 1])
    dphi = (dphi + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(rapidity_of(a) - rapidity_of(b), dphi)


# ----------------------------------------------------------------------------------------------------
# truth record


def daughters(d1: int, d2: int) -> list[int]:
    """Daughter indices from Pythia's ``(daughter1, daughter2)`` convention."""
    if d1 <= 0 and d2 <= 0:
        return []
    if d2 <= 0 or d1 == d2:
        return [d1]
    if d1 < d2:
        return list(range(d1, d2 + 1))
    return [d1, d2]


def hadronic_tops(pid: np.ndarray, d1: np.ndarray, d2: np.ndarray, p4: np.ndarray) -> list[np.ndarray]:
    """For every top decaying to ``b W``, ``W -> q q'``: a (4, 4) array of the 4-momenta of the top
    (its last copy), the quark from the top decay and the two quarks from the W decay."""
    found = []
    for i in np.flatnonzero(np.abs(pid) == 6):
        kids = daughters(int(d1[i]), int(d2[i]))
        w = [k for k in kids if abs(pid[k]) == 24]
        b = [k for k in kids if 1 <= abs(pid[k]) <= 5]
        if len(w) != 1 or len(b) != 1:
            continue  # not the decaying copy of the top
        iw, w_kids = w[0], daughters(int(d1[w[0]]), int(d2[w[0]]))
        for _ in range(len(pid)):  # follow the W's copies (recoil, photon emission) down to its decay
            copies = [k for k in w_kids if pid[k] == pid[iw]]
            if len(copies) != 1:
                break
            iw = copies[0]
            w_kids = daughters(int(d1[iw]), int(d2[iw]))
        quarks = [k for k in w_kids if 1 <= abs(pid[k]) <= 5]
        if len(quarks) == 2:
            found.append(p4[[i, b[0], *quarks]])
    return found


def is_contained(jet: np.ndarray, partons: Sequence[np.ndarray], radius: float) -> bool:
    """True if every row of one of the (k, 4) arrays in ``partons`` lies within ``radius`` of ``jet``."""
    return any(bool(np.all(delta_r(jet, top) < radius)) for top in partons)


# ----------------------------------------------------------------------------------------------------
# one batch of events


def _flat(x: Any) -> np.ndarray:
    import awkward as ak

    return ak.to_numpy(ak.flatten(x))


def _batch_arrays(batch: Any) -> dict[str, np.ndarray]:
    """Flatten a ``nextBatch`` Awkward array into numpy columns plus per-event offsets."""
    import awkward as ak

    prt = batch.prt
    counts = ak.to_numpy(ak.num(prt)).astype(np.int64)
    p4 = np.stack([_flat(prt.p.e), _flat(prt.p.px), _flat(prt.p.py), _flat(prt.p.pz)], axis=-1)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return dict(id=_flat(prt.id), status=_flat(prt.status), d1=_flat(prt.daughter1),
                d2=_flat(prt.daughter2), p4=p4, offsets=offsets)


def _cluster(p4: np.ndarray, counts: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anti-kt clustering of every event of a batch.

    Returns ``(jet_event, jet_offsets, const_index)``: jet ``j`` belongs to event ``jet_event[j]`` and
    has constituents ``const_index[jet_offsets[j]:jet_offsets[j + 1]]`` (rows of ``p4``).
    """
    import awkward as ak
    import fastjet
    import fastjet._swig

    fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)  # banner: see the README's citations
    flat = ak.zip({"px": p4[:, 1], "py": p4[:, 2], "pz": p4[:, 3], "E": p4[:, 0]}, with_name="Momentum4D")
    events = ak.unflatten(flat, counts)
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    index = fastjet.ClusterSequence(events, jet_def).constituent_index(min_pt=0.0)
    jets_per_event = ak.to_numpy(ak.num(index, axis=1)).astype(np.int64)
    n_const = ak.to_numpy(ak.flatten(ak.num(index, axis=2))).astype(np.int64)
    local = ak.to_numpy(ak.flatten(index, axis=None)).astype(np.int64)
    jet_event = np.repeat(np.arange(len(counts)), jets_per_event)
    event_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    const_index = local + np.repeat(event_start[jet_event], n_const)
    return jet_event, np.concatenate([[0], np.cumsum(n_const)]), const_index


def _pad_constituents(p4: np.ndarray, max_constituents: int) -> np.ndarray:
    order = np.argsort(-pt_of(p4), kind="stable")[:max_constituents]
    out = np.zeros((max_constituents, 4), dtype=np.float64)
    out[: len(order)] = p4[order]
    return out


def process_batch(cols: dict[str, np.ndarray], label: int, config: GenerationConfig) -> list[dict[str, Any]]:
    """Select at most one jet per event of a flattened batch (see the module docstring)."""
    p4_all, offsets = cols["p4"], cols["offsets"]
    event_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    keep = (cols["status"] > 0) & ~np.isin(np.abs(cols["id"]), NEUTRINO_IDS) & (pt_of(p4_all) > 0)
    keep &= np.abs(eta_of(p4_all)) < config.particle_abs_eta_max
    p4 = p4_all[keep]
    counts = np.bincount(event_of[keep], minlength=len(offsets) - 1)
    jet_event, jet_offsets, const_index = _cluster(p4, counts, config.jet_radius)
    jet_p4 = np.zeros((0, 4))
    if len(jet_event):  # E-scheme: jet 4-momentum = sum of its constituents
        jet_p4 = np.add.reduceat(p4[const_index], jet_offsets[:-1], axis=0)
    jet_pt = pt_of(jet_p4)
    passes = (jet_pt > config.jet_pt_min) & (jet_pt < config.jet_pt_max)
    passes &= np.abs(eta_of(jet_p4)) < config.jet_abs_eta_max
    selected = []
    for event in range(len(offsets) - 1):
        cands = np.flatnonzero(passes & (jet_event == event))
        if not len(cands):
            continue
        cands = cands[np.argsort(-jet_pt[cands], kind="stable")]
        if label == TOP:
            s = slice(offsets[event], offsets[event + 1])
            tops = hadronic_tops(cols["id"][s], cols["d1"][s], cols["d2"][s], p4_all[s])
            cands = [j for j in cands if is_contained(jet_p4[j], tops, config.match_radius)]
            if not cands:
                continue
        j = cands[0]
        members = p4[const_index[jet_offsets[j] : jet_offsets[j + 1]]]
        selected.append(dict(event=event, jet_p4=jet_p4[j], n_constituents=len(members),
                             constituents=_pad_constituents(members, config.max_constituents)))
    return selected


# ----------------------------------------------------------------------------------------------------
# one chunk (one seed)


def generate_jets(
    label: int,
    seed: int,
    n_jets: int,
    config: GenerationConfig | None = None,
    batch_size: int = 50,
    max_events: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Generate events with one Pythia seed until ``n_jets`` jets of class ``label`` are accepted.

    Returns ``(arrays, n_events)``: ``arrays`` holds ``constituents`` (n, M, 4) float64 ``(E, px, py,
    pz)``, ``mask`` (n, M) bool, ``n_constituents`` (n,) int32 (before truncation to M),
    ``jet_p4`` (n, 4) float64, ``label`` (n,) int8, ``seed`` (n,) int64, ``event`` (n,) int64 (index
    of the event in this seed's event stream); ``n_events`` is the number of events that were used.
    ``on_batch(n_accepted, n_events)`` is called after every batch.
    """
    label, config = check_label(label), GenerationConfig() if config is None else config
    if not (isinstance(n_jets, int | np.integer) and n_jets >= 0):
        raise ValueError(f"n_jets must be a non-negative integer, got {n_jets!r}")
    if max_events is None:
        max_events = 1000 + 1000 * int(n_jets)
    pythia = make_pythia(pythia_settings(label, seed, config))
    jets: list[dict[str, Any]] = []
    n_events = 0
    while len(jets) < n_jets:
        if n_events >= max_events:
            raise RuntimeError(f"only {len(jets)} of {n_jets} jets accepted after {n_events} events "
                               f"(label {label}, seed {seed}); are the cuts too tight?")
        size = int(min(batch_size, max(4, 3 * (n_jets - len(jets)))))
        batch = pythia.nextBatch(size)
        for jet in process_batch(_batch_arrays(batch), label, config):
            jet["event"] += n_events
            jets.append(jet)
        n_events += len(batch)
        if on_batch is not None:
            on_batch(min(len(jets), n_jets), n_events)
    n_used = jets[n_jets - 1]["event"] + 1 if n_jets else 0
    return _stack(jets[:n_jets], label, seed, config.max_constituents), n_used


def _stack(jets: list[dict[str, Any]], label: int, seed: int, max_constituents: int) -> dict[str, np.ndarray]:
    n = len(jets)
    constituents = np.zeros((n, max_constituents, 4), dtype=np.float64)
    for i, jet in enumerate(jets):
        constituents[i] = jet["constituents"]
    n_const = np.array([jet["n_constituents"] for jet in jets], dtype=np.int32)
    mask = np.arange(max_constituents)[None, :] < np.minimum(n_const, max_constituents)[:, None]
    return dict(
        constituents=constituents,
        mask=mask,
        n_constituents=n_const,
        jet_p4=np.array([jet["jet_p4"] for jet in jets], dtype=np.float64).reshape(n, 4),
        label=np.full(n, label, dtype=np.int8),
        seed=np.full(n, seed, dtype=np.int64),
        event=np.array([jet["event"] for jet in jets], dtype=np.int64),
    )
