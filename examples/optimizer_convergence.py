"""Convergence of SGD, momentum, Adam and Newton: the condition number's effect.

Run: ``python examples/optimizer_convergence.py`` (about a minute on a 2-core CPU).
Writes ``examples/output/optimizer_convergence.png`` with three panels: the relative
suboptimality ``(f(x_k) - f*) / (f(x_0) - f*)`` per step (both axes logarithmic) on a
quadratic ``xᵀAx + bᵀx`` with condition number 10 and 1000, and on L2-regularised
logistic regression on scikit-learn's breast_cancer data (standardised). It also prints
how many steps ``optim.minimize`` / ``optim.newton`` need to reach a gradient norm of
1e-6 with each method (also shown in the legends).

First-order methods slow down in proportion to the condition number κ (gradient descent
needs ~κ steps per digit, momentum ~√κ); Adam's diagonal rescaling helps only when the
ill-conditioning is axis-aligned, which it is not here (A is rotated); Newton's method is
affine invariant and does not care.
"""

from __future__ import annotations

from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)  # float64: curves down to 1e-12 without rounding floors

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from mlmath_jax import optim  # noqa: E402

OUT = Path(__file__).parent / "output"
STEPS = 3000


def trajectory(fun, x0, args, optimizer, steps=STEPS):
    """Values f(x_k), k = 0..steps, of an optax optimiser (one lax.scan)."""

    def step(carry, _):
        x, state = carry
        value, grad = jax.value_and_grad(fun)(x, *args)
        updates, state = optimizer.update(grad, state, x)
        return (optax.apply_updates(x, updates), state), value

    (x, _), values = jax.lax.scan(step, (x0, optimizer.init(x0)), None, length=steps)
    return np.append(np.asarray(values), float(fun(x, *args)))


def newton_trajectory(fun, x0, args, steps=20):
    """Newton keeps no state besides x: one optim.newton step at a time gives the path.

    Each call compiles nothing new: the same ``fun``, shapes and ``max_steps`` every time.
    """
    values, x = [float(fun(x0, *args))], x0
    for _ in range(steps):
        x = optim.newton(fun, x, args, max_steps=1, tol=0.0).x
        values.append(float(fun(x, *args)))
    return np.array(values)


def methods(lipschitz):
    """Step sizes from the gradient's Lipschitz constant L, the textbook choices."""
    return {
        "SGD (lr 1/L)": optax.sgd(1.0 / lipschitz),
        "momentum 0.9 (lr 1/L)": optax.sgd(1.0 / lipschitz, momentum=0.9),
        "Adam (lr 0.05)": optax.adam(0.05),
    }


def quadratic_problem(kappa, n=50, seed=0):
    """A rotated quadratic with eigenvalues log-spaced over [1/kappa, 1]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * np.logspace(0, -np.log10(kappa), n)) @ q.T
    b = rng.standard_normal(n)
    f_star = float(optim.quadratic(a, b)(optim.quadratic_minimizer(a, b)))
    lipschitz = 2 * np.linalg.eigvalsh(a)[-1]  # gradient (A + Aᵀ)x + b
    return quadratic, jnp.zeros(n), (jnp.asarray(a), jnp.asarray(b)), f_star, lipschitz


def quadratic(x, a, b):
    """``xᵀAx + bᵀx``, its data passed as ``args``."""
    return x @ a @ x + b @ x


def logistic(w, x, y):
    """scikit-learn's L2 logistic objective (C = 1) over n, intercept last."""
    z = x @ w[:-1] + w[-1]
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z) + 0.5 * jnp.sum(w[:-1] ** 2) / x.shape[0]


def logistic_problem():
    """scikit-learn's L2 logistic loss on standardised breast_cancer, and its L."""
    x, y = load_breast_cancer(return_X_y=True)
    x = jnp.asarray(StandardScaler().fit_transform(x))
    y = jnp.asarray(y, jnp.float64)
    n = x.shape[0]
    w0 = jnp.zeros(x.shape[1] + 1)
    f_star = float(optim.newton(logistic, w0, (x, y), tol=1e-12).value)
    xi = np.hstack([np.asarray(x), np.ones((n, 1))])
    lipschitz = np.linalg.eigvalsh(xi.T @ xi)[-1] / (4 * n) + 1.0 / n
    return logistic, w0, (x, y), f_star, lipschitz


def main():
    """Run every method on every problem, plot, and print the steps to tolerance."""
    OUT.mkdir(parents=True, exist_ok=True)
    problems = {
        "quadratic, κ = 10": quadratic_problem(10.0),
        "quadratic, κ = 1000": quadratic_problem(1000.0),
        "logistic regression, breast_cancer": logistic_problem(),
    }
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    print(f"{'problem':38s} {'method':24s} steps to |grad| <= 1e-6 (optim.minimize / newton)")
    for ax, (title, problem) in zip(axes, problems.items(), strict=True):
        fun, x0, args, f_star, lipschitz = problem
        for (name, opt), color in zip(methods(lipschitz).items(), ["C0", "C1", "C2"], strict=True):
            values = trajectory(fun, x0, args, opt)
            gap = np.maximum((values - f_star) / (values[0] - f_star), 1e-17)
            res = optim.minimize(fun, x0, args, optimizer=opt, max_steps=20000, tol=1e-6)
            steps = int(res.num_steps) if bool(res.converged) else "> 20000"
            print(f"{title:38s} {name:24s} {steps}")
            ax.loglog(np.arange(1, gap.size + 1), gap, color=color, label=f"{name}: {steps}")
        values = newton_trajectory(fun, x0, args)
        gap = np.maximum((values - f_star) / (values[0] - f_star), 1e-17)
        res = optim.newton(fun, x0, args, tol=1e-6)
        print(f"{title:38s} {'Newton':24s} {int(res.num_steps)}")
        ax.loglog(
            np.arange(1, gap.size + 1),
            gap,
            "o-",
            color="C3",
            ms=4,
            zorder=3,
            label=f"Newton (damped): {int(res.num_steps)}",
        )
        ax.legend(loc="lower left", fontsize=8, title="steps to |∇f| ≤ 1e-6", title_fontsize=8)
        ax.set_title(title)
        ax.set_xlabel("step + 1")
        ax.set_ylim(1e-16, 2.0)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("(f(x_k) − f*) / (f(x_0) − f*)")
    fig.suptitle("Gradient methods slow down with the condition number κ; Newton does not")
    path = OUT / "optimizer_convergence.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
