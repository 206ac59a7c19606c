"""The speed benchmark runs and prints its JSON contract (tiny preset, one repeat)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "model_speed.py"


@pytest.mark.slow
def test_benchmark_prints_the_json_contract(capsys):
    spec = importlib.util.spec_from_file_location("model_speed", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--preset", "tiny", "--quick"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("inference_windows_per_s", "train_samples_per_s", "matmul_gflops",
                "inference_flop_utilization", "train_flop_utilization",
                "naive_inference_windows_per_s", "inference_speedup_vs_naive"):
        assert result[key] > 0, key
    # SDPA FLOPs are counted (torch's table lacks the CPU kernel): tiny has 2 blocks, 4 heads of 25
    # over 417 tokens: 2 matmuls * 2 FLOP * 417^2 * 100 per block per window
    by_op = result["inference_gflop_per_window_by_op"]
    expected_sdpa = 2 * 2 * 2 * 417**2 * 100 / 1e9
    assert by_op["_scaled_dot_product_flash_attention_for_cpu"] == pytest.approx(expected_sdpa, abs=1e-4)
    assert result["inference_gflop_per_window"] == pytest.approx(sum(by_op.values()), rel=1e-3)
