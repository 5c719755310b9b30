"""The CUDA path without a GPU: device placement (via the meta device), dtype, seeding; real CUDA when present."""

import numpy as np
import pytest
import torch

from altsim.cli import main
from altsim.rates import FedAlt, FedAvg, FedSim, FullPersonalization, LocalOnly, simulate
from altsim.rates.measurement import measure
from altsim.rates.noise import NoiseStream
from altsim.synthetic import make_problem

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
FAMILIES = [
    ("coupled_quadratic", dict(n=6, sigma_u=0.1, sigma_v=0.1)),
    ("shared_representation", dict(n=6, samples=5, noise="minibatch", batch_size=2)),
    ("small_network", dict(n=6, samples=5, sigma_u=0.1, sigma_v=0.1)),
]
ALGS = [
    FedAlt(gamma_u=0.1, gamma_v=0.1, tau_u=2, tau_v=2),
    FedSim(gamma_u=0.1, gamma_v=0.1, tau=2),
    FedAlt(gamma_u=0.1, gamma_v=0.1, stateless=True),
    FedAvg(gamma_u=0.1, gamma_v=0.1),
    LocalOnly(gamma_v=0.1),
    FullPersonalization(gamma_u=0.1, gamma_v=0.1),
]


def _to(problem, device):
    """Move a problem's tensors to `device` (the meta device stands in for CUDA: mixing devices fails loudly)."""
    problem.device = torch.device(device)
    for k, v in list(vars(problem).items()):
        if isinstance(v, torch.Tensor) and not k.endswith("64"):
            setattr(problem, k, v.to(device))
    return problem


@pytest.mark.parametrize("family, params", FAMILIES, ids=[f for f, _ in FAMILIES])
@pytest.mark.parametrize(
    "alg", ALGS, ids=lambda a: a.name + ("-stateless" if getattr(a, "stateless", False) else "")
)
def test_every_tensor_follows_the_problem_device(family, params, alg):
    p = _to(make_problem(family, params), "meta")
    noise = NoiseStream(torch.arange(3), p.device, p.dtype)
    state = alg.init(p, 3)
    clients = noise.sample_clients(0, p.n, 3)
    assert clients.device.type == "meta"
    new = alg.round(p, state, clients, noise, 0)
    for name, x in new.tensors().items():  # every named tensor of the state, extra state included
        assert (
            x.device.type == "meta"
            and x.dtype == p.dtype
            and x.shape == state.tensors()[name].shape
        ), name
    assert all(t.device.type == "meta" for t in measure(p, new.u, new.V))


def test_float32_runs_stay_float32_and_track_float64():
    states = {}
    for dt in ("float32", "float64"):
        p = make_problem("coupled_quadratic", dict(n=8, sigma_u=0.2, sigma_v=0.2), seed=1, dtype=dt)
        seen = []
        tr = simulate(
            p,
            FedAlt(gamma_u=0.3, gamma_v=0.3),
            rounds=20,
            m=4,
            seeds=[0, 1],
            on_round=lambda t, u, V: seen.append(u.dtype),  # noqa: B023 (used within the iteration)
        )
        assert set(seen) == {getattr(torch, dt)}
        states[dt] = tr.running_average()
    np.testing.assert_allclose(states["float32"], states["float64"], rtol=1e-4)


def test_noise_depends_only_on_its_coordinates_not_on_dtype_or_batch():
    c = torch.arange(20).expand(4, 20)
    z64 = NoiseStream(torch.arange(4), torch.device("cpu"), torch.float64).normal(7, c, 2, 1, 9)
    z32 = NoiseStream(torch.arange(4), torch.device("cpu"), torch.float32).normal(7, c, 2, 1, 9)
    assert torch.equal(z32, z64.float())
    alone = NoiseStream(torch.tensor([2]), torch.device("cpu"), torch.float64).normal(
        7, c[:1, 5:9], 2, 1, 9
    )
    assert torch.equal(alone[0], z64[2, 5:9])


def test_cuda_request_without_cuda_is_a_one_line_usage_error(capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["demo", "--quick", "--device", "cuda", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and err.count("\n") == 1


@cuda
def test_cuda_run_matches_the_cpu_run():
    res = {}
    for dev in ("cpu", "cuda"):
        p = make_problem(
            "coupled_quadratic", dict(n=16, sigma_u=0.3, sigma_v=0.3), seed=0, device=dev
        )
        res[dev] = simulate(
            p, FedAlt(gamma_u=0.3, gamma_v=0.3, tau_u=2, tau_v=2), rounds=30, m=8, seeds=[0, 1, 2]
        )
    np.testing.assert_allclose(res["cuda"].grad_u_sq, res["cpu"].grad_u_sq, rtol=1e-9, atol=1e-12)
    again = simulate(
        make_problem(
            "coupled_quadratic", dict(n=16, sigma_u=0.3, sigma_v=0.3), seed=0, device="cuda"
        ),
        FedAlt(gamma_u=0.3, gamma_v=0.3, tau_u=2, tau_v=2),
        rounds=30,
        m=8,
        seeds=[0, 1, 2],
    )
    assert np.array_equal(
        again.grad_u_sq, res["cuda"].grad_u_sq
    )  # same seed, same device: identical
