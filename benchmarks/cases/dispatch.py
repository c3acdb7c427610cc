"""dispatch cases: the eager cost of a thin wrapper against the ``jnp`` call it wraps.

Researchers call the kit eagerly, in loops, at small sizes, where a call costs its Python
and dispatch overhead more than its arithmetic. Each case times one wrapper (32×32 matmul
and matvec, 8×8 solve/det/inv/eigh, 1000-element vector_norm/var/median, 32×32
matrix_norm) called eagerly on device arrays, against the equivalent eager ``jnp`` call.

Both contenders are ``kind="host"``: the harness times them as plain Python calls (no
``jax.jit`` around them, which would hide the very overhead measured here), each call
followed by ``jax.block_until_ready``. Because the machine may be loaded, the setup also
measures the pair *interleaved* (ours, jnp, ours, jnp, ... ``calls`` times, after warm-up)
and records the medians and their ratio in the case's params as ``ours_us``, ``jnp_us``
and ``ratio`` (ours / jnp: at most 1.3 is the goal of issue 12). Sizes are the same in
quick and full mode; full mode interleaves more calls.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mlmath_jax import linalg, prob

from ..harness import Case, Contender, interleaved, relative_error

_interleaved = interleaved


def _spd(n: int, rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.linspace(1.0, 2.0, n)) @ q.T


# name, size label, ours, jnp equivalent, host inputs (rng -> tuple of float32 arrays)
_PAIRS: list[tuple[str, str, Callable, Callable, Callable]] = [
    (
        "matmul",
        "32x32",
        linalg.matmul,
        jnp.matmul,
        lambda rng: (rng.standard_normal((32, 32)), rng.standard_normal((32, 32))),
    ),
    (
        "matvec",
        "32x32",
        linalg.matvec,
        jnp.matmul,
        lambda rng: (rng.standard_normal((32, 32)), rng.standard_normal(32)),
    ),
    (
        "solve",
        "8x8",
        linalg.solve,
        jnp.linalg.solve,
        lambda rng: (_spd(8, rng), rng.standard_normal(8)),
    ),
    ("det", "8x8", linalg.det, jnp.linalg.det, lambda rng: (_spd(8, rng),)),
    ("inv", "8x8", linalg.inv, jnp.linalg.inv, lambda rng: (_spd(8, rng),)),
    (
        "vector_norm",
        "1000",
        linalg.vector_norm,
        jnp.linalg.vector_norm,
        lambda rng: (rng.standard_normal(1000),),
    ),
    (
        "matrix_norm",
        "32x32",
        linalg.matrix_norm,
        jnp.linalg.matrix_norm,
        lambda rng: (rng.standard_normal((32, 32)),),
    ),
    ("var", "1000", prob.var, jnp.var, lambda rng: (rng.standard_normal(1000),)),
    ("median", "1000", prob.median, jnp.median, lambda rng: (rng.standard_normal(1000),)),
    ("eigh", "8x8", linalg.eigh, jnp.linalg.eigh, lambda rng: (_spd(8, rng),)),
]


def _eigenvalue_error(out, ref) -> float:
    # Eigenvector signs are arbitrary: compare the eigenvalues.
    return relative_error(out[0], ref[0])


def _case(name: str, size: str, ours: Callable, peer: Callable, make: Callable, calls: int) -> Case:
    params: dict = {"size": size, "dtype": "float32", "calls": calls}

    def setup(rng):
        args = tuple(jnp.asarray(np.asarray(a, np.float32)) for a in make(rng))
        jax.block_until_ready(args)
        t_ours, t_peer = _interleaved(ours, peer, args, calls)
        # The interleaved medians travel with every record of this case (Record.params).
        params.update(
            ours_us=round(t_ours * 1e6, 1),
            jnp_us=round(t_peer * 1e6, 1),
            ratio=round(t_ours / t_peer, 2),
        )
        return args

    return Case(
        f"dispatch.{name}",
        params,
        setup,
        [Contender("mlmath_jax", ours, "host"), Contender(f"jnp ({peer.__name__})", peer, "host")],
        reference=lambda *args: jax.device_get(peer(*args)),
        error=_eigenvalue_error if name == "eigh" else relative_error,
        tol=1e-4,
    )


def cases(quick: bool) -> list[Case]:
    """One case per wrapper; ``quick`` interleaves 200 calls, full runs 1000."""
    calls = 200 if quick else 1000
    return [_case(*pair, calls) for pair in _PAIRS]
