"""Speed of the NeuroBOLT model on this machine, against this machine's own matmul rate.

One process: base config, batch 16, 26 channels, 64 ROIs. Measures

* inference windows/s (eval, inference mode) and training samples/s (forward + backward + AdamW
  step, MSE loss), in fp32 and, where the CPU has native bf16 matmuls, under bf16 autocast
  (``bf16_*`` keys; skipped with ``bf16_skipped`` on AVX2-only CPUs, where bf16 is emulated),
* the fp32 matmul GFLOP/s of this machine (2048x2048 matmuls) measured right before and after
  every timed run: the machine may be shared, so each run is divided by the rate around it, and
  the medians are reported (``matmul_gflops``; ``matmul_gflops_at_start`` is one 2-s measurement),
* model FLOPs with ``torch.utils.flop_counter.FlopCounterMode``. The counter has no formula for the
  CPU flash-attention kernels that SDPA dispatches to (``_scaled_dot_product_flash_attention_for_cpu``
  and its backward): we register torch's own SDPA formulas for them (``flops_note``),
* utilisation = model GFLOP/s / fp32 matmul GFLOP/s (``bf16_*`` utilisations divide by the fp32
  rate too, so they show bf16's gain on the same scale).

* the speed-up over a straightforward implementation of the same model (full attention matrix,
  Python loop over channels with complex ``torch.stft``, as the published code computes), timed
  in alternation with ours on the same batch (``inference_speedup_vs_naive``: median of paired
  time ratios).

Usage: ``python benchmarks/model_speed.py [--quick] [--threads N]``. The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import statistics
import sys
import time

import torch
from torch.utils import flop_counter

from neurobolt.model import build_model
from neurobolt.resources import NEUROBOLT_26_CHANNELS

BATCH = 16
N_ROIS = 64


def cpu_sdpa_flop_mapping() -> dict:
    """FLOP formulas for the CPU SDPA kernels, which FlopCounterMode does not know."""
    aten = torch.ops.aten
    mapping = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):
        def forward(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
            return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)

        def backward(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
            return flop_counter.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)

        mapping[aten._scaled_dot_product_flash_attention_for_cpu] = forward
        mapping[aten._scaled_dot_product_flash_attention_for_cpu_backward] = backward
    return mapping


def matmul_gflops(dtype: torch.dtype = torch.float32, n: int = 2048, seconds: float = 0.6) -> float:
    """This machine's big-square matmul rate right now (GFLOP/s)."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    a @ b
    count, start = 0, time.perf_counter()
    while count < 1 or time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def count_flops(step) -> tuple[int, dict]:
    with flop_counter.FlopCounterMode(display=False, custom_mapping=cpu_sdpa_flop_mapping()) as counter:
        step()
    per_op = {str(k): int(v) for k, v in counter.get_flop_counts()["Global"].items()}
    return counter.get_total_flops(), per_op


def measure(step, flops: float, repeats: int) -> dict:
    """Time ``step`` ``repeats`` times, each between two matmul-rate measurements.

    The machine may be shared: its speed changes from second to second. Dividing each run's model
    GFLOP/s by the matmul rate measured right around it, then taking the median, gives a
    utilisation that does not depend on how busy the machine was during the run.
    """
    step()  # warm-up (allocator, oneDNN primitives)
    seconds, ratios, rates = [], [], []
    for _ in range(repeats):
        before = matmul_gflops()
        start = time.perf_counter()
        step()
        elapsed = time.perf_counter() - start
        after = matmul_gflops()
        seconds.append(elapsed)
        rates += [before, after]
        ratios.append(flops / elapsed / 1e9 / ((before + after) / 2))
    return {
        "seconds": statistics.median(seconds),
        "best_seconds": min(seconds),
        "utilization": statistics.median(ratios),
        "matmul_gflops": statistics.median(rates),
    }


def make_naive(model) -> None:
    """Turn ``model`` into a straightforward implementation (same weights, same outputs), the way
    the published code computes: attention that materialises the (tokens x tokens) matrix with
    separate q/k norms, and the spectral branch looping over channels with complex ``torch.stft``.
    Used only to measure the speed-up of the real implementation in the same run."""
    import types

    def naive_attention(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = self.q_norm(qkv[0]), self.k_norm(qkv[1]), qkv[2]
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
        return self.proj((attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d))

    def naive_spectral_tokens(self, x, reference=None):  # the published branch: no reference
        b, c, t = x.shape
        per_channel = []
        for ch in range(c):  # the published code's Python loop over channels
            total = 0
            for i, n_fft in enumerate(self.n_ffts):
                mag = torch.stft(x[:, ch], n_fft, hop_length=n_fft, window=torch.ones(n_fft),
                                 center=False, return_complex=True).abs()
                h = self.freq_proj[i](mag.transpose(1, 2))
                total = total + self.time_proj[i](h.transpose(1, 2)).transpose(1, 2)
            per_channel.append(total)
        return torch.stack(per_channel, dim=1)

    for block in model.temporal_spatial.blocks:
        block.attn.forward = types.MethodType(naive_attention, block.attn)
    model.spectral.spectral_tokens = types.MethodType(naive_spectral_tokens, model.spectral)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--preset", default="base")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive-baseline inference run")
    parser.add_argument("--force-bf16", action="store_true", help="run bf16 even where it is emulated")
    args = parser.parse_args(argv)
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    repeats = 1 if args.quick else 5

    ch_names = list(NEUROBOLT_26_CHANNELS)
    model = build_model(ch_names, [f"roi_{i:03d}" for i in range(N_ROIS)], preset=args.preset)
    x = torch.randn(BATCH, len(ch_names), model.config.n_samples) * 20.0  # µV
    index = model.channel_index(ch_names)
    target = torch.randn(BATCH, N_ROIS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def autocast(bf16: bool):
        if bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def infer(bf16: bool = False):
        model.eval()
        with torch.inference_mode(), autocast(bf16):
            model(x, index)

    def forward_backward(bf16: bool = False):
        model.train()
        with autocast(bf16):
            loss = torch.nn.functional.mse_loss(model(x, index).float(), target)
        loss.backward()

    def train_step(bf16: bool = False):
        optimizer.zero_grad(set_to_none=True)
        forward_backward(bf16)
        optimizer.step()

    # FLOPs are linear in the batch: count on 2 windows (fast), scale to BATCH
    full_x, full_target = x, target
    x, target = full_x[:2], full_target[:2]
    infer_flops, infer_ops = count_flops(infer)
    train_flops, _ = count_flops(forward_backward)  # AdamW's elementwise FLOPs are negligible
    x, target = full_x, full_target
    infer_flops, train_flops = infer_flops * BATCH // 2, train_flops * BATCH // 2
    infer_ops = {op: f * BATCH // 2 for op, f in infer_ops.items()}
    optimizer.zero_grad(set_to_none=True)

    # the spectral front-end's DFT-as-matmul FLOPs: an FFT would need far fewer, so we also report
    # the utilisation without them (the honest lower figure)
    dft_flops = BATCH * len(ch_names) * sum(
        2 * (model.config.n_samples // n) * n * 2 * (n // 2 + 1) for n in model.config.spectral_n_fft
    )
    results: dict = {
        "device": platform.processor() or platform.machine(),
        "threads": threads,
        "torch": torch.__version__,
        "preset": args.preset,
        "batch": BATCH,
        "channels": len(ch_names),
        "rois": N_ROIS,
        "parameters": model.num_parameters(),
        "inference_gflop_per_window": infer_flops / BATCH / 1e9,
        "train_gflop_per_sample": train_flops / BATCH / 1e9,
        "dft_gflop_per_window": dft_flops / BATCH / 1e9,
        "inference_gflop_per_window_by_op": {
            op.removeprefix("aten."): round(f / BATCH / 1e9, 4) for op, f in infer_ops.items()
        },
        "flops_note": "CPU SDPA flash-attention fwd/bwd FLOPs added via custom_mapping (not in "
        "torch's default table); DFT-as-matmul FLOPs of the spectral front-end are counted as mm",
    }
    results["bf16_matmul_gflops"] = matmul_gflops(torch.bfloat16, n=512, seconds=0.3)
    results["matmul_gflops_at_start"] = matmul_gflops(torch.float32, seconds=2.0)
    modes = [("", False)]
    # bf16 autocast only pays where the CPU has native bf16 matmuls (AMX / AVX512-BF16); on an
    # AVX2-only CPU a bf16 matmul is emulated and ~100x slower than fp32 (measured on the dev VM): skip it there
    if results["bf16_matmul_gflops"] >= 0.5 * results["matmul_gflops_at_start"] or args.force_bf16:
        modes.append(("bf16_", True))
    else:
        results["bf16_skipped"] = (
            f"bf16 matmul runs at {results['bf16_matmul_gflops']:.2f} GFLOP/s vs fp32 "
            f"{results['matmul_gflops_at_start']:.1f}: no native bf16 on this CPU (--force-bf16 to run anyway)"
        )
        print(results["bf16_skipped"], file=sys.stderr)
    for prefix, bf16 in modes:
        inference = measure(lambda: infer(bf16), infer_flops, repeats)
        training = measure(lambda: train_step(bf16), train_flops, max(1, repeats - 2))
        results[f"{prefix}inference_windows_per_s"] = BATCH / inference["seconds"]
        results[f"{prefix}train_samples_per_s"] = BATCH / training["seconds"]
        results[f"{prefix}inference_model_gflops"] = infer_flops / inference["seconds"] / 1e9
        results[f"{prefix}train_model_gflops"] = train_flops / training["seconds"] / 1e9
        results[f"{prefix}inference_flop_utilization"] = inference["utilization"]
        results[f"{prefix}inference_flop_utilization_without_dft"] = (
            inference["utilization"] * (1 - dft_flops / infer_flops)
        )
        results[f"{prefix}train_flop_utilization"] = training["utilization"]
        # the fp32 matmul rate the utilisations were divided by (median around the runs)
        results[f"{prefix}matmul_gflops"] = statistics.median(
            [inference["matmul_gflops"], training["matmul_gflops"]]
        )
        print(
            f"{'bf16 autocast' if bf16 else 'fp32'}: inference {BATCH / inference['seconds']:.2f} windows/s "
            f"(utilisation {inference['utilization']:.3f}), training {BATCH / training['seconds']:.2f} "
            f"samples/s (utilisation {training['utilization']:.3f})",
            file=sys.stderr,
        )
    if not args.no_naive:
        # Same weights, straightforward implementation, timed alternately with ours (one batch
        # each, paired) so that drifts in the machine's speed hit both alike.
        naive_model = copy.deepcopy(model).eval()
        make_naive(naive_model)
        model.eval()

        def timed(net) -> float:
            with torch.inference_mode():
                start = time.perf_counter()
                net(x, index)
                return time.perf_counter() - start

        timed(naive_model)  # warm-up
        pairs = [(timed(model), timed(naive_model)) for _ in range(max(2, repeats - 1))]
        ours_s = statistics.median(p[0] for p in pairs)
        naive_s = statistics.median(p[1] for p in pairs)
        results["naive_inference_windows_per_s"] = BATCH / naive_s
        results["paired_inference_windows_per_s"] = BATCH / ours_s
        results["inference_speedup_vs_naive"] = statistics.median(n / o for o, n in pairs)
        print(f"naive baseline: inference {BATCH / naive_s:.2f} windows/s vs ours {BATCH / ours_s:.2f} "
              f"in alternating runs (speed-up {results['inference_speedup_vs_naive']:.2f}x)",
              file=sys.stderr)
    print("inference FLOPs by op (per window):", file=sys.stderr)
    for op, flops in sorted(infer_ops.items(), key=lambda kv: -kv[1]):
        print(f"  {op}: {flops / BATCH / 1e9:.3f} GFLOP", file=sys.stderr)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
