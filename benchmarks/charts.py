"""PNG charts of a results set: ours against peers, and GPU over CPU (when both ran)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .harness import Record

OURS = "mlmath_jax"


def _label(r: Record) -> str:
    size = ",".join(f"{v}" for k, v in r.params.items() if k not in ("dtype",))
    return f"{r.case} [{size}]"


def peer_ratios(records: Sequence[Record]) -> list[tuple[str, str, float]]:
    """``(case label, peer, peer time / our time)`` on the host CPU platform pairs."""
    ours = {
        (r.case, str(r.params)): r.median_s
        for r in records
        if r.contender == OURS and r.platform == "cpu" and r.correct and r.median_s
    }
    out = []
    for r in records:
        key = (r.case, str(r.params))
        if r.platform == "host" and r.correct and r.median_s and key in ours:
            out.append((_label(r), r.contender, r.median_s / ours[key]))
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


def _bar_chart(labels, values, colors, title, xlabel, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = max(3.0, 0.28 * len(labels) + 1.2)
    fig, ax = plt.subplots(figsize=(10, height))
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(records: Sequence[Record], title: str, stem: Path) -> list[Path]:
    """Write ``<stem>-vs-peers.png`` and, with GPU results, ``<stem>-gpu-speedup.png``."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # charts are optional: the bench extra brings matplotlib
        return []
    written = []
    ratios = peer_ratios(records)
    if ratios:
        palette = {}
        colors = []
        for _, peer, _ in ratios:
            palette.setdefault(peer, f"C{len(palette)}")
            colors.append(palette[peer])
        labels = [f"{label} vs {peer}" for label, peer, _ in ratios]
        path = stem.with_name(stem.name + "-vs-peers.png")
        _bar_chart(
            labels,
            [v for *_, v in ratios],
            colors,
            f"{title}: peer time / mlmath_jax time on CPU (right of 1: we are faster)",
            "speed-up of mlmath_jax over the peer (log scale)",
            path,
        )
        written.append(path)
    speedups = gpu_speedups(records)
    if speedups:
        path = stem.with_name(stem.name + "-gpu-speedup.png")
        _bar_chart(
            [s[0] for s in speedups],
            [s[1] for s in speedups],
            "C2",
            f"{title}: mlmath_jax CPU time / GPU time",
            "GPU speed-up (log scale)",
            path,
        )
        written.append(path)
    return written
