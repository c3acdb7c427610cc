"""Cases, contenders and the timing loop.

Timing rules: inputs are generated once on the host and transferred to the device outside
the timed region; JAX contenders are compiled ahead of time (``jit(...).lower().compile()``)
so compile time is recorded apart; one warm-up call, then ``repeat`` calls each followed by
``jax.block_until_ready``; we report the median and the spread (min, max). A contender whose
answer differs from the reference by more than the case's tolerance is recorded as wrong
and gets no time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

from . import limits


@dataclass(frozen=True)
class Contender:
    """One implementation of a case's work.

    ``kind="jax"``: ``fn`` is jitted and run on each selected JAX device.
    ``kind="host"``: ``fn`` runs as plain Python on NumPy inputs (NumPy, SciPy,
    scikit-learn, a Python loop), on the host CPU.
    """

    name: str
    fn: Callable[..., Any]
    kind: str = "jax"


def relative_error(out: Any, ref: Any) -> float:
    """``max |out - ref| / max |ref|`` over all leaves (NaN or shape mismatch -> inf)."""
    outs, refs = jax.tree.leaves(out), jax.tree.leaves(ref)
    if len(outs) != len(refs):
        return float("inf")
    worst = 0.0
    for o, r in zip(outs, refs, strict=True):
        o = np.asarray(o, dtype=np.complex128 if np.iscomplexobj(o) else np.float64)
        r = np.asarray(r, dtype=np.complex128 if np.iscomplexobj(r) else np.float64)
        if o.shape != r.shape:
            return float("inf")
        if o.size == 0:
            continue
        scale = max(float(np.max(np.abs(r))), np.finfo(np.float64).tiny)
        err = float(np.max(np.abs(o - r))) / scale
        worst = max(worst, err if np.isfinite(err) else float("inf"))
    return worst


@dataclass(frozen=True)
class Case:
    """A unit of work timed for several contenders.

    Attributes:
      name: dotted name, area first (``"linalg.matmul"``); ``--case`` matches on it.
      params: sizes and dtypes, recorded with every result (e.g. ``{"n": 2048}``).
      setup: ``rng -> tuple`` of host (NumPy) inputs, made once and shared by all.
      contenders: ours first, then peers.
      reference: computes the reference answer from the inputs (float64 NumPy is best);
        default: the first host contender's answer.
      error: ``(out, ref) -> float``; default :func:`relative_error`.
      tol: largest error that counts as correct.
      flops: floating-point operations of one call, for compute-bound cases.
      bytes: bytes moved by one call, for memory-bound cases.
      precision: peak-table column for the FLOP fraction: "fp32", "tf32", "bf16", "fp64".
      quick: whether ``--quick`` runs it.
      priority: order under ``--budget`` (lower runs first; ties in name order). The default
        100 puts a case after every case that names a priority.
    """

    name: str
    params: dict[str, Any]
    setup: Callable[[np.random.Generator], tuple]
    contenders: Sequence[Contender]
    reference: Callable[..., Any] | None = None
    error: Callable[[Any, Any], float] = relative_error
    tol: float = 1e-4
    flops: float | None = None
    bytes: float | None = None
    precision: str = "fp32"
    quick: bool = True
    priority: int = 100


@dataclass
class Record:
    """One timed (case, contender, device) result."""

    case: str
    params: dict[str, Any]
    contender: str
    device: str
    platform: str
    correct: bool
    error: float
    compile_s: float | None = None
    first_s: float | None = None
    median_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    repeats: int = 0
    flops_per_s: float | None = None
    bytes_per_s: float | None = None
    fraction_of_limit: float | None = None
    limit: str | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _time_calls(call: Callable[[], Any], repeat: int, budget_s: float) -> list[float]:
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - t0)
        # At least 3 repeats, unless one call alone takes a third of the budget: a case
        # that takes a minute per call is timed once (recorded as repeats = 1).
        if time.perf_counter() - start > budget_s and (len(times) >= 3 or times[0] > budget_s / 3):
            break
    return times


def _finish(record: Record, case: Case, times: list[float], device: Any | None) -> Record:
    record.median_s = statistics.median(times)
    record.min_s, record.max_s = min(times), max(times)
    record.repeats = len(times)
    if case.flops:
        record.flops_per_s = case.flops / record.median_s
    if case.bytes:
        record.bytes_per_s = case.bytes / record.median_s
    if device is not None:
        frac, what = limits.fraction_of_limit(
            device, record.flops_per_s, record.bytes_per_s, case.precision
        )
        record.fraction_of_limit, record.limit = frac, what
    return record


def run_case(
    case: Case,
    devices: Sequence[Any],
    *,
    repeat: int = 7,
    budget_s: float = 5.0,
    host: bool = True,
    seed: int = 0,
) -> list[Record]:
    """Time every contender of ``case``: JAX ones on each of ``devices``, host ones once."""
    inputs = case.setup(np.random.default_rng(seed))
    records: list[Record] = []
    ref = case.reference(*inputs) if case.reference is not None else None
    for contender in case.contenders:
        if contender.kind == "host":
            if not host:
                continue
            out = contender.fn(*inputs)  # first call doubles as warm-up
            if ref is None:
                ref = out
            err = case.error(out, ref)
            rec = Record(
                case.name, case.params, contender.name, "host cpu", "host", err <= case.tol, err
            )
            if rec.correct:
                _finish(
                    rec,
                    case,
                    _time_calls(lambda c=contender: c.fn(*inputs), repeat, budget_s),
                    None,
                )
            records.append(rec)
            continue
        for device in devices:
            args = jax.device_put(inputs, device)
            jax.block_until_ready(args)
            t0 = time.perf_counter()
            compiled = jax.jit(contender.fn).lower(*args).compile()
            compile_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = jax.block_until_ready(compiled(*args))
            first_s = time.perf_counter() - t0
            if ref is None:  # no host reference: our own float result becomes the reference
                ref = jax.device_get(out)
            err = case.error(jax.device_get(out), ref)
            rec = Record(
                case.name,
                case.params,
                contender.name,
                device.device_kind,
                device.platform,
                err <= case.tol,
                err,
                compile_s,
                first_s,
            )
            if rec.correct:
                _finish(
                    rec,
                    case,
                    _time_calls(lambda c=compiled, a=args: c(*a), repeat, budget_s),
                    device,
                )
            records.append(rec)
    return records


def interleaved(ours: Callable, peer: Callable, args: tuple, calls: int) -> tuple[float, float]:
    """Medians (seconds) of ``calls`` eager calls of each, alternating ours and peer.

    For eager-cost measurements (dispatch, gradient against fit) that the jitted timing loop
    of :func:`run_case` cannot express; three warm-up calls compile and fill the caches.
    """
    for _ in range(3):
        jax.block_until_ready(ours(*args))
        jax.block_until_ready(peer(*args))
    t_ours, t_peer = [], []
    for _ in range(calls):
        t0 = time.perf_counter()
        jax.block_until_ready(ours(*args))
        t1 = time.perf_counter()
        jax.block_until_ready(peer(*args))
        t2 = time.perf_counter()
        t_ours.append(t1 - t0)
        t_peer.append(t2 - t1)
    return statistics.median(t_ours), statistics.median(t_peer)
