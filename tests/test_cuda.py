"""CUDA itself: every family and algorithm on the GPU against the CPU, the engine's batch invariance
and repeatability there, Triton-compiled rounds against eager ones, and the CLI end to end.

Skipped without a CUDA device (the CPU suite tests placement, dtype and seeding through the meta
device in test_devices.py). Run on a GPU machine with `python -m pytest tests/test_cuda.py`.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from altsim.cli import main
from altsim.rates import ALGORITHMS, simulate
from altsim.synthetic import FAMILIES, make_problem
from altsim.testing.contracts import _instance, check_algorithm, check_compiled

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_meets_its_contract_on_cuda(name):
    # batched round = per-client loop, seeds together = seeds alone bit for bit, a rerun repeats itself
    check_algorithm(name, device="cuda")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", ["fedalt", "fedsim"])
def test_every_family_on_cuda_tracks_the_cpu_in_float64(family, name):
    out = {}
    for dev in ("cpu", "cuda"):
        p = make_problem(family, FAMILIES[family].example, seed=1, device=dev)
        out[dev] = simulate(p, _instance(name, p, None), rounds=6, m=min(3, p.n), seeds=[0, 5])
    for key in ("grad_u_sq", "grad_v_sq_mean"):
        np.testing.assert_allclose(
            getattr(out["cuda"], key),
            getattr(out["cpu"], key),
            rtol=1e-9,
            atol=1e-12,
            err_msg=f"{family}/{name}: {key} on cuda differs from the cpu",
        )


@pytest.mark.parametrize("name", ["fedalt", "fedsim"])
def test_triton_compiled_round_agrees_with_eager_on_cuda(name):
    check_compiled(name, backend="inductor", rtol=1e-12, device="cuda")


def test_float32_on_cuda_stays_float32():
    p = make_problem(
        "coupled_quadratic",
        dict(n=8, sigma_u=0.2, sigma_v=0.2),
        seed=1,
        device="cuda",
        dtype="float32",
    )
    seen = []
    simulate(
        p,
        _instance("fedalt", p, None),
        rounds=3,
        m=4,
        seeds=[0],
        on_round=lambda t, u, V: seen.append((u.device.type, u.dtype, V.device.type)),
    )
    assert set(seen) == {("cuda", torch.float32, "cuda")}


def test_quick_demo_on_cuda_records_the_device_and_tracks_the_cpu_demo(tmp_path):
    for dev in ("cpu", "cuda"):
        assert main(["demo", "--quick", "--device", dev, "--out", str(tmp_path / dev)]) == 0
    summary = json.loads((tmp_path / "cuda" / "summary.json").read_text())
    assert summary["config"]["device"] == "cuda" and summary["environment"]["device"] == "cuda"
    assert (tmp_path / "cuda" / "demo.png").stat().st_size > 0
    cpu, gpu = (
        np.load(tmp_path / "cpu" / "trajectories.npz"),
        np.load(tmp_path / "cuda" / "trajectories.npz"),
    )
    for key in ("fedalt/running_average", "fedsim/running_average"):
        np.testing.assert_allclose(gpu[key], cpu[key], rtol=1e-9, err_msg=key)
