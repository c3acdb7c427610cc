"""Hessian eigenvalue density of a small MLP's loss, at initialisation and after training.

Run: ``python examples/hessian_spectrum.py`` (one to two minutes on a 2-core CPU).
Writes ``examples/output/hessian_spectrum.png``. A 64-32-10 tanh MLP (2410 parameters) on
scikit-learn's digits (pixels / 16) with the mean cross-entropy loss; trained full batch
with ``optim.minimize`` and ``optax.adam``. For each state the plot shows the stochastic
Lanczos quadrature estimate (``calculus.hessian_spectral_density``, matrix-free) over a
histogram of the exact eigenvalues (``numpy.linalg.eigvalsh`` of the dense Hessian, which
is affordable at this size and checks the estimate), with the extreme eigenvalues from
``calculus.hessian_eigsh`` marked. Training typically leaves a bulk of eigenvalues near
zero and pushes a few outliers (about one per class) far to the right.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from sklearn.datasets import load_digits

from mlmath_jax import calculus, optim

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = Path(__file__).parent / "output"


def init_params(key, sizes=(64, 32, 10)):
    """Glorot-style initialisation of a tanh MLP."""
    params = []
    keys = jax.random.split(key, len(sizes) - 1)
    for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True):
        params.append({"w": jax.random.normal(k, (m, n)) / np.sqrt(m), "b": jnp.zeros(n)})
    return params


def loss(params, x, y):
    """Mean cross-entropy of the MLP on (x, y), the data passed as ``args``."""
    h = x
    for layer in params[:-1]:
        h = jnp.tanh(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))


def spectrum(params, data, key):
    """SLQ density, exact eigenvalues and eigsh extremes of the loss Hessian at params."""
    top = calculus.hessian_eigsh(loss, params, 3, data, which="LA")  # v0: the fixed default
    bottom = calculus.hessian_eigsh(loss, params, 1, data, which="SA")
    if not (bool(top.converged.all()) and bool(bottom.converged.all())):
        print("warning: hessian_eigsh did not converge", top.num_steps, bottom.num_steps)
    top, bottom = top.eigenvalues, bottom.eigenvalues
    span = float(top[-1] - bottom[0])
    grid = jnp.linspace(float(bottom[0]) - 0.05 * span, float(top[-1]) + 0.05 * span, 600)
    density = calculus.hessian_spectral_density(
        loss, params, key, data, num_probes=16, num_iters=90, grid=grid
    )
    flat, unravel = ravel_pytree(params)
    dense = jax.hessian(lambda z: loss(unravel(z), *data))(flat)
    exact = np.linalg.eigvalsh(np.asarray(dense, np.float64))
    trace, se = calculus.hessian_trace(loss, params, key, 64, data)
    return {
        "grid": np.asarray(grid),
        "density": np.asarray(density),
        "exact": exact,
        "top": np.asarray(top),
        "bottom": np.asarray(bottom),
        "trace": (float(trace), float(se)),
    }


def main():
    """Train, compute both spectra, plot and print a summary."""
    OUT.mkdir(parents=True, exist_ok=True)
    x, y = load_digits(return_X_y=True)
    x, y = jnp.asarray(x / 16.0, jnp.float32), jnp.asarray(y)
    data = (x, y)
    params0 = init_params(jax.random.key(0))
    trained = optim.minimize(
        loss, params0, data, optimizer=optax.adam(3e-3), max_steps=3000, tol=1e-4
    )
    print(
        f"loss {float(loss(params0, *data)):.3f} -> {float(trained.value):.4f} in "
        f"{int(trained.num_steps)} Adam steps (grad norm {float(trained.grad_norm):.1e})"
    )
    states = {"at initialisation": params0, "after training": trained.x}
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    for ax, (name, params) in zip(axes, states.items(), strict=True):
        s = spectrum(params, data, jax.random.key(1))
        ax.hist(
            s["exact"], bins=120, density=True, color="0.75", label="exact eigenvalues (eigvalsh)"
        )
        ax.semilogy(
            s["grid"],
            np.maximum(s["density"], 1e-7),
            color="C0",
            lw=1.5,
            label="SLQ density (16 probes, 90 Lanczos steps)",
        )
        for i, lam in enumerate(np.concatenate([s["bottom"], s["top"]])):
            ax.axvline(
                lam, color="C3", ls="--", lw=0.8, label="hessian_eigsh extremes" if i == 0 else None
            )
        ax.set_ylim(1e-5, None)
        ax.set_title(f"Hessian spectrum {name}, loss {float(loss(params, *data)):.3g}")
        ax.set_xlabel("eigenvalue")
        ax.legend(fontsize=8, loc="upper right")
        est, se = s["trace"]
        print(
            f"{name}: top eigenvalues eigsh {np.round(s['top'], 4)} exact "
            f"{np.round(s['exact'][-3:], 4)}; trace Hutchinson {est:.3f} ± {se:.3f}, "
            f"exact {s['exact'].sum():.3f}"
        )
    axes[0].set_ylabel("density (log scale)")
    fig.suptitle("Small MLP on digits (2410 parameters): loss Hessian eigenvalue density")
    path = OUT / "hessian_spectrum.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
