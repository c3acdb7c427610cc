"""PNG charts of a results set: one figure per area of ours against peers, and GPU over CPU.

Each area (the case name's first part: ``linalg``, ``prob``, ``ml``, ...) gets its own figure,
``<stem>-<area>.png``, so every chart stays readable on a screen. A bar is one (case, size,
peer) pair: the peer's median time over ours, on a log axis, coloured by peer with a legend.
Peers that run on the host (NumPy, SciPy, scikit-learn, Python loops) are compared with our
CPU time; peers that are JAX code (``jnp`` reference implementations, unrolled loops) are
compared on the platform they ran on.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from .harness import Record

OURS = "mlmath_jax"
_LABEL_WIDTH = 48  # characters a line of a bar label; longer labels wrap


def _label(r: Record) -> str:
    size = ", ".join(f"{k}={v}" for k, v in r.params.items() if k != "dtype")
    return f"{r.case} [{size}]" if size else r.case


def area(case: str) -> str:
    """The area a case belongs to: the part of its name before the first dot."""
    return case.split(".", 1)[0]


def peer_ratios(records: Sequence[Record]) -> list[tuple[str, str, float]]:
    """``(case label, peer, peer time / our time)`` for every correctly timed peer.

    Host peers (NumPy, SciPy, scikit-learn) are paired with our CPU time; JAX peers with our
    time on the same platform.
    """
    ours = {
        (r.case, str(r.params), r.platform): r.median_s
        for r in records
        if r.contender == OURS and r.correct and r.median_s
    }
    out = []
    for r in records:
        if r.contender == OURS or not (r.correct and r.median_s):
            continue
        platform = "cpu" if r.platform == "host" else r.platform
        ref = ours.get((r.case, str(r.params), platform))
        if ref:
            where = "" if r.platform in ("host", "cpu") else f" ({r.platform})"
            out.append((_label(r) + where, r.contender, r.median_s / ref))
    return out


def gpu_speedups(records: Sequence[Record]) -> list[tuple[str, float]]:
    """``(case label, our CPU time / our GPU time)`` where both ran correctly."""
    by_platform: dict[str, dict[tuple[str, str], Record]] = {"cpu": {}, "gpu": {}}
    for r in records:
        if r.contender == OURS and r.correct and r.median_s and r.platform in by_platform:
            by_platform[r.platform][(r.case, str(r.params))] = r
    return [
        (_label(g), by_platform["cpu"][k].median_s / g.median_s)
        for k, g in by_platform["gpu"].items()
        if k in by_platform["cpu"]
    ]


def _bar_chart(labels, values, peers, title, xlabel, path: Path) -> None:
    """A horizontal log-scale bar chart, one bar a label, coloured (and keyed) by peer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    wrapped = [textwrap.fill(text, _LABEL_WIDTH) for text in labels]
    lines = sum(text.count("\n") + 1 for text in wrapped)
    palette: dict[str, str] = {}
    for peer in peers:
        palette.setdefault(peer, f"C{len(palette) % 10}")
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.17 * lines + 0.3 * len(labels) + 1.8)))
    ax.barh(range(len(values)), values, color=[palette[p] for p in peers])
    ax.set_yticks(range(len(labels)), wrapped, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    for i, v in enumerate(values):
        ax.annotate(
            f"{v:.3g}", (v, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7
        )
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    if palette:
        handles = [Patch(color=c, label=p) for p, c in palette.items()]
        ax.legend(
            handles=handles,
            title="peer",
            fontsize=8,
            title_fontsize=8,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.06),
            ncol=min(3, len(handles)),
            frameon=False,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def write(records: Sequence[Record], title: str, stem: Path) -> list[Path]:
    """Write ``<stem>-<area>.png`` per area with peers and, with GPU results, ``-gpu-speedup``."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # charts are optional: the bench extra brings matplotlib
        return []
    written = []
    by_area: dict[str, list[tuple[str, str, float]]] = {}
    for label, peer, ratio in peer_ratios(records):
        by_area.setdefault(area(label), []).append((label, peer, ratio))
    for name, rows in sorted(by_area.items()):
        path = stem.with_name(f"{stem.name}-{name}.png")
        _bar_chart(
            [label for label, _, _ in rows],
            [ratio for *_, ratio in rows],
            [peer for _, peer, _ in rows],
            f"{title} — {name}: peer time / mlmath_jax time (right of 1: mlmath_jax is faster)",
            "peer median time / mlmath_jax median time (log scale)",
            path,
        )
        written.append(path)
    speedups = gpu_speedups(records)
    if speedups:
        path = stem.with_name(stem.name + "-gpu-speedup.png")
        _bar_chart(
            [s[0] for s in speedups],
            [s[1] for s in speedups],
            ["mlmath_jax CPU / GPU"] * len(speedups),
            f"{title}: mlmath_jax CPU time / GPU time",
            "GPU speed-up (log scale)",
            path,
        )
        written.append(path)
    return written
