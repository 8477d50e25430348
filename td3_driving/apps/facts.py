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
    """Host, CPU count, GPU, Python, torch and date of a learning or evaluation record."""
    import torch
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"host": platform.node(), "cpus": os.cpu_count(), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d")}
