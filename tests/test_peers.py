"""The Flower peer (altsim.peers.flower): refused cleanly without flwr; with it, a smoke run whose
trajectory equals altsim's. The timing comparison runs only in `altsim bench --peers`."""

from __future__ import annotations

import importlib.util

import pytest

from altsim.cli import main

HAS_FLOWER = importlib.util.find_spec("flwr") is not None


def test_peer_spec_refuses_what_the_peer_does_not_implement():
    from altsim.peers.flower import PeerSpec

    with pytest.raises(ValueError, match="algorithm='fedavg'"):
        PeerSpec("fedavg", n=4, m=2, rounds=1)
    with pytest.raises(ValueError, match="m"):
        PeerSpec("fedalt", n=4, m=5, rounds=1)


@pytest.mark.skipif(HAS_FLOWER, reason="checks the message given when flwr is missing")
def test_bench_peers_without_flower_is_a_usage_error_naming_the_extra(capsys):
    assert main(["bench", "--quick", "--peers"]) == 2
    err = capsys.readouterr().err
    assert "--peers" in err and 'pip install "altsim[peers]"' in err


@pytest.mark.skipif(not HAS_FLOWER, reason='needs flwr: pip install "altsim[peers]"')
@pytest.mark.parametrize("algorithm", ["fedalt", "fedsim"])
def test_flower_trajectory_equals_altsims_on_the_same_clients_and_noise(algorithm):
    from altsim.peers.flower import PeerSpec, compare_trajectories

    check = compare_trajectories(PeerSpec(algorithm, n=6, m=2, rounds=3))
    assert check["max_relative_difference"] <= 1e-12, check["per_quantity"]
    assert len(check["flower"]["grad_u_sq"]) == 3


@pytest.mark.skipif(not HAS_FLOWER, reason='needs flwr: pip install "altsim[peers]"')
def test_bench_peers_adds_the_flower_keys(tmp_path):
    import json

    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--peers", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert (
        rep["flower_speedup_n100"] > 0 and rep["flower_trajectory_max_relative_difference"] <= 1e-12
    )
