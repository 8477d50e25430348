"""Small text helpers the sections of docs/benchmarks.md share: numbers, machines, provenance.

benchmarks/make_benchmarks_doc.py assembles the document from its sections.
"""

from __future__ import annotations

import math


def fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def cpu_count(m: dict) -> int | None:
    """Cores of a record's machine (older benchmark records call the field cpu_count)."""
    return m.get("cpus", m.get("cpu_count"))


def cpu_words(m: dict) -> str:
    """'2 CPU cores (AMD EPYC, AVX2, no native bf16)': what makes two records comparable."""
    known = [m.get("cpu_model")] + ([m["cpu_isa"]] if m.get("cpu_isa") else []) + (
        [("native bf16" if m["bf16_native"] else "no native bf16")]
        if "bf16_native" in m else [])
    detail = ", ".join(str(k) for k in known if k)
    return f"{cpu_count(m) or '?'} CPU cores" + (f" ({detail})" if detail else "")


def provenance(r: dict) -> str:
    """Where a performance record comes from: command, machine, date, load."""
    m = r.get("machine", {})
    gpu = m.get("gpu") or "none"
    return (f"Command: `{r.get('command', '?')}` → `{r['_file']}`; {cpu_words(m)}, "
            f"GPU {gpu}, torch {m.get('torch', '?')}; "
            f"{str(r.get('date', '?'))[:10]}. 1-minute load average "
            f"{fmt(r.get('load_average_1min_before'))} before, "
            f"{fmt(r.get('load_average_1min_after'))} after (2 = both cores busy).")
