"""precision="auto" decides by what the CPU can do, read from /proc/cpuinfo's flags."""
from neurobolt.hardware import cpuinfo_has_native_bf16


def test_native_bf16_is_read_from_the_cpu_flags():
    avx2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
    zen4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
    sapphire = "flags\t\t: avx2 avx512f amx_bf16 amx_tile\n"
    arm = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n"
    assert cpuinfo_has_native_bf16(avx2) is False
    assert cpuinfo_has_native_bf16(zen4) is True
    assert cpuinfo_has_native_bf16(sapphire) is True
    assert cpuinfo_has_native_bf16(arm) is True
    assert cpuinfo_has_native_bf16("") is None
    # a flag that merely contains the letters is not the flag
    assert cpuinfo_has_native_bf16("flags : avx512_bf16x\n") is False
