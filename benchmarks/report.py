"""Write results as JSON and a Markdown table (and PNG charts when matplotlib is there)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import charts
from .harness import Record

OURS = "mlmath_jax"


def slug(text: str) -> str:
    """File-name form of a device kind: ``"NVIDIA H100 80GB HBM3"`` -> ``nvidia-h100-80gb-hbm3``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _fmt_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _ours_time(records: Sequence[Record], rec: Record) -> float | None:
    """Our fastest correct median on the same case and params, on the same platform if any."""
    same = [
        r
        for r in records
        if r.case == rec.case
        and r.params == rec.params
        and r.contender == OURS
        and r.correct
        and r.median_s
    ]
    if not same:
        return None
    on_platform = [r for r in same if r.platform == rec.platform]
    return min(r.median_s for r in (on_platform or same))


def markdown(records: Sequence[Record], meta: dict[str, Any]) -> str:
    """A Markdown report: one row per record, with the ratio to our time."""
    lines = [
        f"# mlmath_jax benchmarks: {meta['title']}",
        "",
        f"Date {meta['date']}; JAX {meta['jax']}; devices: {', '.join(meta['devices'])}; "
        f"host CPU: {meta['host']}; mode: {'quick' if meta['quick'] else 'full'}"
        + _completeness(meta)
        + ".",
        "",
        "Times are medians of repeats after a warm-up (compile time apart); inputs are made",
        "once on the host and moved to the device outside the timed region. Columns:",
        "`compile` is the ahead-of-time compile of our jitted call; `median` and `min–max` are",
        "over the timed repeats; `x ours` is the contender's median over ours on the same",
        "platform (above 1: we are faster); `rate` is FLOP/s for compute-bound cases or bytes/s",
        "for memory-bound ones; `% of limit` is that rate as a fraction of the device's peak",
        "from `benchmarks/limits.py` (`-` where the device is not in the table); `check` is",
        "the relative error against the case's float64 reference (`ok` within the case's",
        "tolerance; a wrong answer is reported and not timed). Rows marked `(from <date>)` were",
        "kept from an earlier run of the same device and mode.",
        "",
        "| case | params | contender | device | compile | median | min–max | x ours "
        "| rate | % of limit | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        ours = _ours_time(records, r)
        ratio = f"{r.median_s / ours:.2f}" if ours and r.median_s else "-"
        rate = "-"
        if r.flops_per_s:
            rate = f"{r.flops_per_s / 1e9:.1f} GFLOP/s"
        elif r.bytes_per_s:
            rate = f"{r.bytes_per_s / 1e9:.1f} GB/s"
        frac = (
            f"{100 * r.fraction_of_limit:.1f}%"
            if r.fraction_of_limit is not None
            else (r.limit or "-")
        )
        spread = f"{_fmt_time(r.min_s)}–{_fmt_time(r.max_s)}" if r.median_s else "-"
        check = f"ok ({r.error:.1e})" if r.correct else f"**WRONG** ({r.error:.1e})"
        lines.append(
            f"| {r.case} | {_fmt_params(r.params)} | {r.contender} | {r.device} | "
            f"{_fmt_time(r.compile_s)} | {_fmt_time(r.median_s)} | {spread} | {ratio} | "
            f"{rate} | {frac} | {check}{' ' + r.note if r.note else ''}"
            + (f" (from {r.extra['from_run']})" if r.extra.get("from_run") else "")
            + " |"
        )
    return "\n".join(lines) + "\n"


def _completeness(meta: dict[str, Any]) -> str:
    skipped = meta.get("skipped") or []
    if skipped:
        return (
            f" (INCOMPLETE: the {meta.get('budget_s', 0):.0f} s budget left out "
            f"{len(skipped)} case(s): {', '.join(skipped)})"
        )
    return "" if meta.get("complete", True) else " (INCOMPLETE: the run was stopped)"


def stem_name(meta: dict[str, Any]) -> str:
    """File stem: the device slug, ``-gpu-list`` for the ``--gpu`` list, ``-quick`` if quick."""
    return (
        slug(meta["title"])
        + ("-gpu-list" if meta.get("case_list") == "gpu" else "")
        + ("-quick" if meta.get("quick") else "")
    )


def earlier_records(meta: dict[str, Any], out_dir: Path) -> list[Record]:
    """Records of the existing report this run would write over (same device and mode).

    A run updates the cases it runs and keeps the others, so running a subset (``--case``)
    or stopping at a ``--budget`` never destroys a fuller report. Kept records carry
    ``extra["from_run"]``, the date of the run that measured them.
    """
    path = out_dir / f"{stem_name(meta)}.json"
    if not path.exists():
        return []
    payload = json.loads(path.read_text())
    names = {f.name for f in dataclasses.fields(Record)}
    kept = []
    for raw in payload.get("records", []):
        fields = {
            k: (float(v) if v in ("inf", "-inf", "nan") else v)
            for k, v in raw.items()
            if k in names
        }
        record = Record(**fields)
        record.extra.setdefault("from_run", payload.get("meta", {}).get("date", "earlier"))
        kept.append(record)
    return kept


# Params that a case's setup measures and records (interleaved timings), or that model the
# code rather than size the case (``passes``: reads of the data a call, which change with the
# algorithm), not sizes: a rerun of the case has other values, so they are no part of what
# makes two records the same case.
MEASURED_PARAMS = frozenset(
    {"paired_ms", "paired_sum_ms", "sum_ratio", "ours_us", "jnp_us", "ratio", "passes"}
)


def _identity(r: Record) -> tuple[str, str]:
    sizes = {k: v for k, v in r.params.items() if k not in MEASURED_PARAMS}
    return r.case, json.dumps(sizes, sort_keys=True, default=str)


def merged(earlier: Sequence[Record], records: Sequence[Record]) -> list[Record]:
    """``records`` plus the earlier records of (case, params) pairs this run did not measure.

    Params in :data:`MEASURED_PARAMS` are left out of the comparison (a rerun measures them
    anew), so a rerun replaces the earlier records instead of adding to them.
    """
    ran = {_identity(r) for r in records}
    return [r for r in earlier if _identity(r) not in ran] + list(records)


def write(records: Sequence[Record], meta: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``<slug>.json`` and ``<slug>.md`` (and charts) into ``out_dir``; return paths."""
    paths = write_data(records, meta, out_dir)
    for i, png in enumerate(charts.write(records, meta["title"], out_dir / stem_name(meta))):
        paths[f"png{i}"] = png
    return paths


def write_data(records: Sequence[Record], meta: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``<slug>.json`` and ``<slug>.md`` into ``out_dir`` (no charts); return paths.

    Quick runs are named ``<slug>-quick.*`` so they never replace a committed full run.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    name = stem_name(meta)
    paths = {"json": out_dir / f"{name}.json", "md": out_dir / f"{name}.md"}

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value

    payload = {
        "meta": meta,
        "records": [{k: clean(v) for k, v in dataclasses.asdict(r).items()} for r in records],
    }
    paths["json"].write_text(json.dumps(payload, indent=1, default=str) + "\n")
    paths["md"].write_text(markdown(records, meta))
    return paths
