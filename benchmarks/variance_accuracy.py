"""Variance accuracy in float32 when |mean| >> std: naive vs ours vs NumPy float64.

Writes ``benchmarks/results/variance_accuracy.md`` (a table) and ``.png`` (a small
figure). Deterministic (seeded) and cheap: ``python -m benchmarks.variance_accuracy``.

For float32 data ``x = mean + N(0, 1)`` (n = 1e6) at means 1e0 .. 1e6 we compare the
relative error, against NumPy's float64 variance of the same float32 data, of:
  - naive: the textbook ``E[x²] - E[x]²`` in float32 (``jnp.mean(x*x) - jnp.mean(x)**2``),
  - ours: ``mlmath_jax.prob.var`` (corrected two-pass),
  - ``numpy.var`` on the float32 data (NumPy's float32 two-pass with pairwise sums).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mlmath_jax import prob

MEANS = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6]
N = 1_000_000


def measure(n: int = N, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    naive_fn = jax.jit(lambda x: jnp.mean(x * x) - jnp.mean(x) ** 2)
    ours_fn = jax.jit(prob.var)
    rows = []
    for loc in MEANS:
        x = (loc + rng.standard_normal(n)).astype(np.float32)
        exact = float(np.var(x.astype(np.float64)))
        naive = float(naive_fn(x))
        ours = float(ours_fn(x))
        np32 = float(np.var(x))
        rows.append(
            {
                "mean": loc,
                "exact": exact,
                "naive": naive,
                "ours": ours,
                "numpy_f32": np32,
                "err_naive": abs(naive - exact) / exact,
                "err_ours": abs(ours - exact) / exact,
                "err_numpy_f32": abs(np32 - exact) / exact,
            }
        )
    return rows


def write_table(rows: list[dict], path: Path) -> None:
    lines = [
        "# Variance of float32 data `mean + N(0, 1)`, n = 1e6 (seed 0)",
        "",
        "Reference: `numpy.var` in float64 of the same float32 data. Relative errors.",
        "",
        "| mean | float64 var | naive E[x²]−E[x]² | rel. err | mlmath_jax `prob.var` | "
        "rel. err | `np.var` float32 | rel. err |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mean']:.0e} | {r['exact']:.6f} | {r['naive']:.6g} | {r['err_naive']:.1e} "
            f"| {r['ours']:.6f} | {r['err_ours']:.1e} | {r['numpy_f32']:.6f} "
            f"| {r['err_numpy_f32']:.1e} |"
        )
    lines.append("")
    path.write_text("\n".join(lines))


def write_figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = [r["mean"] for r in rows]
    floor = 1e-9  # exact results (error 0) drawn at the floor of the log axis
    fig, ax = plt.subplots(figsize=(5.0, 3.2), dpi=120)
    for key, label, style in [
        ("err_naive", "naive E[x²]−E[x]² (float32)", "o-"),
        ("err_numpy_f32", "np.var (float32)", "s--"),
        ("err_ours", "mlmath_jax prob.var (float32)", "^-"),
    ]:
        ax.loglog(means, [max(r[key], floor) for r in rows], style, label=label, ms=4)
    ax.axhline(1e-3, color="grey", lw=0.8, ls=":")
    ax.text(1.2, 1.3e-3, "target 1e-3", fontsize=7, color="grey")
    ax.set_xlabel("|mean| / std")
    ax.set_ylabel("relative error of variance")
    ax.set_title("float32 variance, n = 1e6", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    rows = measure()
    write_table(rows, out / "variance_accuracy.md")
    write_figure(rows, out / "variance_accuracy.png")
    print((out / "variance_accuracy.md").read_text())


if __name__ == "__main__":
    main()
