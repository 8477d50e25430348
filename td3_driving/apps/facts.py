"""What a result record names besides its numbers: the command that wrote it and the machine.

ROS-free (benchmarks on a GPU host without ROS use it too). benchmarks/make_benchmarks_doc.py
lists a record's command, machine and date next to its figures, and flags a record that names
no command: a record must be written by the command it names.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time


def command_line(module: str | None = None) -> str:
    """How this process was started, as a reader would retype it (``python -m pkg.mod``)."""
    if module is None:
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        module = spec.name if spec is not None else None
    start = f"-m {module}" if module else shlex.quote(sys.argv[0])
    return f"./env.sh python {start} {shlex.join(sys.argv[1:])}".rstrip()


def machine_facts() -> dict:
    """The machine of a record: what a reader needs to compare its figures with others.

    Cores and CPU model, the instruction set torch's kernels use (``cpu_isa``: AVX2,
    AVX512, ...) and whether the CPU does bf16 natively (``bf16_native``: the avx512_bf16
    or amx_bf16 flag; without it the bf16 encoder is about 10x slower, docs/benchmarks.md
    section 2): machines that report the same model name can differ in both. Memory, GPU,
    Python, torch, platform, host and date.
    """
    import torch
    info = _proc_fields("/proc/cpuinfo", ("model name", "flags"))
    flags = set(info.get("flags", "").split())
    mem_kb = _proc_fields("/proc/meminfo", ("MemTotal",)).get("MemTotal", "0 kB").split()[0]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"host": platform.node(), "cpus": os.cpu_count(),
            "cpu_model": info.get("model name", platform.processor() or "unknown"),
            "cpu_isa": torch.backends.cpu.get_cpu_capability(),
            "bf16_native": bool(flags & {"avx512_bf16", "amx_bf16"}),
            "memory_gb": round(int(mem_kb) / 2**20, 1), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__,
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d")}


def _proc_fields(path: str, names: tuple[str, ...]) -> dict[str, str]:
    """The first value of each ``name: value`` line in a /proc file ({} where unreadable)."""
    found: dict[str, str] = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in names and key not in found:
                    found[key] = value.strip()
                    if len(found) == len(names):
                        break
    except OSError:
        pass
    return found
