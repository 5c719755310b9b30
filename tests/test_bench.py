"""`altsim bench --quick` runs end to end (a smoke test: no timing assertions)."""

import json

from altsim.cli import main


def test_quick_bench_reports_what_it_measured_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    for key in ("engine_vs_loop_speedup", "scaling_exponent_n", "fraction_of_matmul_flops", "machine",
                "seed_batch_cost_ratio_8", "bound_evals_per_second_lambdify"):
        assert key in rep, key
    # the quick variant does not measure these, so they must be absent rather than guessed
    assert "peak_memory_mb_n1e5" not in rep and "seed_batch_cost_ratio_64" not in rep
    assert rep["engine_vs_loop_speedup"] > 0 and rep["machine"]["cores"] >= 1
    try:
        import flwr  # noqa: F401
    except ImportError:
        assert rep["flower"] == "skipped: flwr is not installed"
    else:
        assert not rep["flower"].startswith("skipped")
