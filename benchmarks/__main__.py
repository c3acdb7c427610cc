"""Run the benchmark suite and write a report.

``python -m benchmarks [--quick] [--case PATTERN] [--device D] [--budget SECONDS] [--out DIR]``

Results go to ``<out>/<device>[-quick].json`` and ``.md`` (and PNG charts). A run updates the
cases it runs and keeps the other cases of an existing report of the same device and mode
(``--fresh`` starts the report anew), so a subset or a budget-limited run never destroys a
fuller one.
"""

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

from . import gpu_cases, report
from .budget import Budget, by_priority
from .cases import all_cases
from .harness import run_case

_clock = time.perf_counter  # the run's wall clock (tests replace it)


def _devices(choice: str) -> list:
    found = []
    for backend in ["cpu", "gpu"] if choice == "all" else [choice]:
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
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument(
        "--case", default="*", help="glob (or substring) on case names, e.g. 'linalg.*'"
    )
    parser.add_argument(
        "--device",
        choices=["all", "cpu", "gpu"],
        default="all",
        help="devices to run JAX contenders on (default: every one JAX sees)",
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per contender")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run cases in priority order and stop before this many seconds",
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="the GPU case list (sizes for one H100/H200; with --quick, 1/1000 "
        "of them), on the GPU when there is one",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="do not keep the cases of an existing report of this device/mode",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results",
        help="results folder (default benchmarks/results)",
    )
    args = parser.parse_args(argv)
    try:
        budget = Budget(args.budget)
    except ValueError as exc:
        parser.error(str(exc))

    devices = _devices(args.device)
    if args.gpu and args.device == "all":
        devices = devices[-1:]  # the GPU list is sized for the accelerator alone
    pattern = args.case if any(c in args.case for c in "*?[") else f"*{args.case}*"
    listed = gpu_cases.cases(1e-3 if args.quick else 1.0) if args.gpu else all_cases(args.quick)
    cases = [c for c in listed if fnmatch.fnmatch(c.name, pattern)]
    if not cases:
        sys.exit(f"no case matches {args.case!r}")
    if args.budget is not None:
        cases = by_priority(cases)
    primary = devices[-1]  # the accelerator when there is one
    meta = {
        "title": primary.device_kind if primary.platform != "cpu" else "cpu",
        "date": datetime.date.today().isoformat(),
        "jax": jax.__version__,
        "devices": [f"{d.platform}: {d.device_kind}" for d in devices],
        "host": _host_cpu(),
        "quick": args.quick,
        "repeat": args.repeat,
        "case_list": "gpu" if args.gpu else "areas",
        "case_pattern": args.case,
        "budget_s": args.budget,
    }
    earlier = [] if args.fresh else report.earlier_records(meta, args.out)
    print(f"{len(cases)} case(s) on {', '.join(meta['devices'])}", flush=True)
    records = []
    skipped: list[str] = []
    start = _clock()
    for i, case in enumerate(cases, 1):
        if skipped or not budget.fits(_clock() - start):
            skipped.append(case.name)
            continue
        t0 = _clock()
        got = run_case(case, devices, repeat=args.repeat)
        budget.record(_clock() - t0)
        records.extend(got)
        best = ", ".join(
            f"{r.contender}@{r.platform} {report._fmt_time(r.median_s)}"
            + ("" if r.correct else " WRONG")
            for r in got
        )
        print(
            f"[{i}/{len(cases)}] {case.name} {report._fmt_params(case.params)} "
            f"({_clock() - t0:.1f}s): {best}",
            flush=True,
        )
        if i < len(cases):  # keep what has been measured if a long run is stopped
            report.write_data(
                report.merged(earlier, records), {**meta, "complete": False}, args.out
            )
    if skipped:
        print(
            f"budget of {args.budget:.0f}s reached: skipped {len(skipped)} case(s): "
            + ", ".join(skipped)
        )
    final = {**meta, "complete": not skipped, "skipped": skipped}
    paths = report.write(report.merged(earlier, records), final, args.out)
    print(f"done in {_clock() - start:.0f}s; wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
