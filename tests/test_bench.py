"""`altsim bench --quick` runs end to end (a smoke test: no timing assertions)."""

import json

import pytest

from altsim.bench import (
    closed_form_round_bytes,
    round_element_steps,
    shared_representation_round_flops,
)
from altsim.cli import main


@pytest.mark.heavy  # 80 s on two cores: a benchmark, run with -m heavy
def test_quick_bench_reports_what_it_measured_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    for key in (
        "engine_vs_loop_speedup",
        "scaling_exponent_n",
        "fraction_of_matmul_flops",
        "fraction_of_roofline",
        "machine",
        "seed_batch_cost_ratio_8",
        "bound_evals_per_second_lambdify",
    ):
        assert key in rep, key
    assert rep["complete"] is True
    # the quick variant does not measure these, so they must be absent rather than guessed
    for key in (
        "peak_memory_mb_n1e5",
        "seed_batch_cost_ratio_64",
        "compiled_speedup_n1e5",
        "compile_seconds",
        "flower_speedup_n100",
    ):
        assert key not in rep, key
    roof = rep["roofline"]
    assert roof["op_mix_seconds"] is None and roof["ceiling"].startswith("memory only")
    assert (
        0 < rep["fraction_of_roofline"] == roof["fraction_of_roofline_eager"]
        and rep["roofline_path"] == "eager"
    )
    assert rep["flops_scenario"]["family"] == "shared_representation"
    assert rep["engine_vs_loop_speedup"] > 0 and rep["machine"]["cores"] >= 1


def test_roofline_counts_follow_the_round_formulas():
    # one seed, m clients: read u, write u; read and write each sampled v_i; read b_i and e_i; 8-byte indices
    assert (
        closed_form_round_bytes(1, 10, 3, 2, 4) == (2 * 3 + 2 * 10 * 2 + 10 * (3 + 2)) * 4 + 10 * 8
    )
    assert (
        closed_form_round_bytes(2, 10, 3, 2, 8)
        == (2 * 2 * 3 + 2 * 2 * 10 * 2 + 10 * 5) * 8 + 2 * 10 * 8
    )
    assert round_element_steps(2, 10, 3, 2, tau_u=4, tau_v=1) == 2 * 10 * (1 * 2 + 4 * 3)
    # the product U x_j dominates: 2 k p N per call, one call per local step and client
    big = shared_representation_round_flops(m=1, k=32, p=128, N=512, tau_u=1, tau_v=1)
    assert 2 * (2 * 32 * 128 * 512) < big < 1.2 * 2 * (2 * 32 * 128 * 512)
