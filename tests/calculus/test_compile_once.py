"""Compile once: three eager calls with the same ``fun`` and new ``x``/``args`` compile once.

Covers calculus.hvp, calculus.check_grad, calculus.hessian_eigsh, calculus.hessian_trace and
calculus.hessian_spectral_density.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import calculus
from tests.conftest import compiles_on_repeat


def loss(w, x, y):
    """A least-squares loss with a smooth penalty; the data come in ``args``."""
    return jnp.mean((x @ w - y) ** 2) + 0.1 * jnp.sum(jnp.log(jnp.cosh(w)))


def tree_loss(p, x):
    return jnp.sum(jnp.tanh(x @ p["w"] + p["b"]) ** 2)


def _data(seed, n=60, d=40):
    rng = np.random.default_rng(seed)
    w = jnp.asarray(rng.standard_normal(d), jnp.float32)
    x = jnp.asarray(rng.standard_normal((n, d)), jnp.float32)
    y = jnp.asarray(rng.standard_normal(n), jnp.float32)
    return w, (x, y)


CALLS = [_data(seed) for seed in range(3)]


def test_hvp():
    calls = [(w, jnp.flip(w), args) for w, args in CALLS]
    assert compiles_on_repeat(lambda w, v, args: calculus.hvp(loss, w, v, args), *calls) == 0


def test_hvp_pytree():
    calls = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        p = {"w": jnp.asarray(rng.standard_normal((3, 2)), jnp.float32), "b": jnp.zeros(2)}
        calls.append((p, (jnp.asarray(rng.standard_normal((5, 3)), jnp.float32),)))
    assert compiles_on_repeat(lambda p, args: calculus.hvp(tree_loss, p, p, args), *calls) == 0


@pytest.mark.parametrize("d", [10, 40])  # every coordinate / random directions
def test_check_grad(d):
    calls = [_data(seed, d=d) for seed in range(3)]
    assert compiles_on_repeat(lambda w, args: calculus.check_grad(loss, w, args), *calls) == 0
    with_eps = [(w, args, eps) for (w, args), eps in zip(calls, (1e-2, 2e-2, 3e-2), strict=True)]
    assert (
        compiles_on_repeat(
            lambda w, args, eps: calculus.check_grad(loss, w, args, eps=eps), *with_eps
        )
        == 0
    )


@pytest.mark.parametrize("which", ["LA", "SA"])
def test_hessian_eigsh(which):
    calls = [_data(seed, d=100) for seed in range(3)]
    assert (
        compiles_on_repeat(
            lambda w, args: calculus.hessian_eigsh(loss, w, 2, args, which=which), *calls
        )
        == 0
    )
    with_v0 = [(w, args, jnp.flip(w)) for w, args in calls]
    assert (
        compiles_on_repeat(
            lambda w, args, v0: calculus.hessian_eigsh(loss, w, 2, args, v0=v0, tol=1e-4), *with_v0
        )
        == 0
    )


def test_hessian_trace():
    calls = [(w, jax.random.key(seed), args) for seed, (w, args) in enumerate(CALLS)]
    assert (
        compiles_on_repeat(
            lambda w, key, args: calculus.hessian_trace(loss, w, key, 4, args), *calls
        )
        == 0
    )


def test_hessian_spectral_density():
    calls = [
        (w, jax.random.key(seed), args, jnp.linspace(-1.0, 3.0 + seed, 40))
        for seed, (w, args) in enumerate(CALLS)
    ]
    assert (
        compiles_on_repeat(
            lambda w, key, args, grid: calculus.hessian_spectral_density(
                loss, w, key, args, num_probes=2, num_iters=5, grid=grid
            ),
            *calls,
        )
        == 0
    )
    sigmas = [(*c, s) for c, s in zip(calls, (0.1, 0.2, 0.3), strict=True)]
    assert (
        compiles_on_repeat(
            lambda w, key, args, grid, s: calculus.hessian_spectral_density(
                loss, w, key, args, num_probes=2, num_iters=5, grid=grid, sigma=s
            ),
            *sigmas,
        )
        == 0
    )


def test_a_fresh_lambda_per_call_compiles_again():
    # The counter sees compiles: fun is identified by the object, as with jax.jit.
    calls = [(w, args) for w, args in CALLS]
    count = compiles_on_repeat(
        lambda w, args: calculus.hvp(lambda z, x, y: loss(z, x, y), w, w, args), *calls
    )
    assert count > 0
