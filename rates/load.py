"""Read saved results back (summary.json + rounds.csv), so figures can be redrawn without rerunning."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from altsim.theory import BOUNDS

from .compare import Comparison, compare
from .engine import Trajectory


def load_summary(directory: str | Path) -> dict:
    f = Path(directory) / "summary.json"
    if not f.exists():
        raise ValueError(f"result_dir={str(directory)!r}: no summary.json (not an altsim result folder)")
    return json.loads(f.read_text())


def load_trajectories(directory: str | Path, summary: dict | None = None) -> dict[str, Trajectory]:
    """One Trajectory per algorithm of a single experiment folder (demo or one-point run)."""
    d = Path(directory)
    summary = summary or load_summary(d)
    if "algorithms" not in summary:
        raise ValueError(f"result_dir={str(directory)!r}: a sweep of {summary.get('n_points')} points; "
                         "use --kind regime or --kind sweep, or point at one of its points/<id> folders")
    rows: dict[str, list] = {}
    with open(d / "rounds.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["algorithm"], []).append(r)
    out = {}
    for alg, entry in summary["algorithms"].items():
        rs = rows[alg]
        seeds = sorted({int(r["seed"]) for r in rs})
        rounds = sorted({int(r["round"]) for r in rs})
        si, ri = {s: i for i, s in enumerate(seeds)}, {t: i for i, t in enumerate(rounds)}
        arr = {k: np.full((len(seeds), len(rounds)), np.nan) for k in ("grad_u_sq", "grad_v_sq_mean", "objective_gap")}
        for r in rs:
            for k in arr:
                arr[k][si[int(r["seed"])], ri[int(r["round"])]] = float(r[k])
        setting = entry["setting"]
        diverged = np.full(len(seeds), -1)
        for s, t in entry.get("diverged_seeds", {}).items():
            diverged[si[int(s)]] = int(t)
        L_u, L_v = float(setting["scale_L_u"]), float(setting["scale_L_v"])  # what normalised Delta_t
        out[alg] = Trajectory(alg, {**setting, "rounds": len(rounds)}, np.array(seeds), np.array(rounds),
                              arr["grad_u_sq"], arr["grad_v_sq_mean"], arr["objective_gap"], L_u, L_v, diverged)
    return out


def load_comparisons(directory: str | Path) -> tuple[dict, dict[str, Comparison]]:
    """(summary, {algorithm: Comparison}) recomputed from the saved trajectories and settings."""
    summary = load_summary(directory)
    trajs = load_trajectories(directory, summary)
    comps = {}
    for alg, tr in trajs.items():
        setting = summary["algorithms"][alg]["setting"]
        comps[alg] = compare(tr, [b for b in BOUNDS.values() if b.algorithm == alg], setting)
    return summary, comps
