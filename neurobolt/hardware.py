"""What this machine can do, for defaults that decide by capability rather than by assumption.

bf16 autocast pays only where the hardware computes in bf16: CUDA GPUs, and CPUs with native
bf16 instructions (x86 ``avx512_bf16`` or ``amx_bf16``; Arm ``bf16``). Elsewhere PyTorch emulates
it, about 100x slower than fp32 on an AVX2-only CPU.
"""
from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (Linux: /proc/cpuinfo flags; macOS: sysctl)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    native = cpuinfo_has_native_bf16(text)
    if native is not None:
        return native
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"],
                                 capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return False
        return out == "1"
    return False


def cpuinfo_has_native_bf16(text: str) -> bool | None:
    """From /proc/cpuinfo's text: whether its flags name a native bf16 instruction set; None
    when it lists no flags at all (not Linux, or an unusual kernel)."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):  # x86 "flags", Arm "Features"
            return any(flag in value.split() for flag in CPU_BF16_FLAGS)
    return None


def auto_precision(device) -> str:
    """Training's ``precision="auto"``: bf16 autocast where the device computes bf16 natively,
    else fp32. (Prediction stays fp32 on a CPU: its outputs should not depend on batch sizes.)"""
    import torch

    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"
