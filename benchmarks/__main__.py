"""Run the benchmark suite: ``python -m benchmarks [--quick] [--case PATTERN] [--device D]``."""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import os
import platform
import sys
import time
from pathlib import Path

import jax

from . import report
from .cases import all_cases
from .harness import run_case


def _devices(choice: str) -> list:
    found = []
    for backend in (["cpu", "gpu"] if choice == "all" else [choice]):
        try:
            found.append(jax.devices(backend)[0])
        except RuntimeError:
            if choice != "all":
                sys.exit(f"--device {choice}: JAX sees no {choice} device")
    return found


def _host_cpu() -> str:
    """The host CPU's model name (Linux), else what ``platform`` knows, with the core count."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--case", default="*", help="glob on case names, e.g. 'linalg.*'")
    parser.add_argument("--device", choices=["all", "cpu", "gpu"], default="all")
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per contender")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    devices = _devices(args.device)
    pattern = args.case if any(c in args.case for c in "*?[") else f"*{args.case}*"
    cases = [c for c in all_cases(args.quick) if fnmatch.fnmatch(c.name, pattern)]
    if not cases:
        sys.exit(f"no case matches {args.case!r}")
    primary = devices[-1]  # the accelerator when there is one
    meta = {
        "title": primary.device_kind if primary.platform != "cpu" else "cpu",
        "date": datetime.date.today().isoformat(),
        "jax": jax.__version__,
        "devices": [f"{d.platform}: {d.device_kind}" for d in devices],
        "host": _host_cpu(),
        "quick": args.quick,
        "repeat": args.repeat,
    }
    print(f"{len(cases)} case(s) on {', '.join(meta['devices'])}", flush=True)
    records = []
    start = time.perf_counter()
    for i, case in enumerate(cases, 1):
        t0 = time.perf_counter()
        got = run_case(case, devices, repeat=args.repeat)
        records.extend(got)
        best = ", ".join(
            f"{r.contender}@{r.platform} {report._fmt_time(r.median_s)}"
            + ("" if r.correct else " WRONG")
            for r in got
        )
        print(f"[{i}/{len(cases)}] {case.name} {report._fmt_params(case.params)} "
              f"({time.perf_counter() - t0:.1f}s): {best}", flush=True)
        if i < len(cases):  # keep what has been measured if a long run is stopped
            report.write_data(records, {**meta, "complete": False}, args.out)
    paths = report.write(records, {**meta, "complete": True}, args.out)
    print(f"done in {time.perf_counter() - start:.0f}s; wrote "
          + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
