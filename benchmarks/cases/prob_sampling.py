"""prob sampling throughput: Normal, Gamma, Categorical with threefry and rbg keys.

Contenders: ``mlmath_jax`` (the distribution's ``sample``), plain ``jax.random`` with the same
key implementation (the floor our wrapper should sit on), and NumPy's ``Generator`` on the
host. ``bytes`` is the output size, so ``bytes_per_s`` is the sampling throughput and the
fraction of memory bandwidth says how close a generator is to just writing its output.

Samples differ across generators, so the check is statistical: ``error`` is the largest
z-score of the sample mean and sample variance against the true moments (Categorical: of the
category frequencies against the probabilities), and ``tol`` is 6 standard errors.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from mlmath_jax.prob import Categorical, Gamma, Normal

from ..harness import Case, Contender

LOC, SCALE = 1.5, 2.0
CONC, RATE = 2.5, 4.0
K = 16


def _moments_z(out, ref) -> float:
    """Largest z-score of the sample mean and variance; ``ref = (mean, var, kurtosis)``."""
    x = np.asarray(out).ravel()
    n = x.size
    mean, var, kurt = ref
    m = float(np.mean(x, dtype=np.float64))
    v = float(np.var(x, dtype=np.float64))
    z_mean = abs(m - mean) / math.sqrt(var / n)
    # Var of the sample variance: (mu4 - sigma^4) / n with mu4 = kurtosis * sigma^4.
    z_var = abs(v - var) / math.sqrt((kurt - 1) * var * var / n)
    return max(z_mean, z_var)


def _freq_z(out, ref) -> float:
    """Largest z-score of the category frequencies against ``ref`` (the probabilities)."""
    x = np.asarray(out).ravel()
    n = x.size
    p = np.asarray(ref, np.float64)
    if x.min() < 0 or x.max() >= p.size:
        return math.inf
    freq = np.bincount(x, minlength=p.size) / n
    return float(np.max(np.abs(freq - p) / np.sqrt(p * (1 - p) / n)))


def _key_setup(impl: str):
    def setup(rng):
        key = jax.random.key(int(rng.integers(2**31)), impl=impl)
        return (np.asarray(jax.random.key_data(key)),)

    return setup


def _key(data, impl):
    return jax.random.wrap_key_data(data, impl=impl)


# --- contenders -------------------------------------------------------------------------


def _ours_normal(data, *, impl, n):
    return Normal(LOC, SCALE).sample(_key(data, impl), (n,))


def _jax_normal(data, *, impl, n):
    return LOC + SCALE * jax.random.normal(_key(data, impl), (n,), jnp.float32)


def _ours_gamma(data, *, impl, n):
    return Gamma(CONC, RATE).sample(_key(data, impl), (n,))


def _jax_gamma(data, *, impl, n):
    return jax.random.gamma(_key(data, impl), CONC, (n,), jnp.float32) / RATE


def _probs() -> np.ndarray:
    p = np.random.default_rng(123).uniform(0.2, 1.0, K)
    return (p / p.sum()).astype(np.float32)


def _ours_categorical(data, *, impl, n):
    return Categorical(jnp.asarray(_probs())).sample(_key(data, impl), (n,))


def _jax_categorical(data, *, impl, n):
    logits = jnp.log(jnp.asarray(_probs()))
    return jax.random.categorical(_key(data, impl), logits, shape=(n,))


def _numpy(draw):
    gen = np.random.default_rng(0)
    return lambda data: draw(gen)


def _normal_case(n: int, impl: str, tag: str, quick: bool) -> Case:
    return Case(
        name=f"prob.sample.normal.{tag}",
        params={"n": n, "key": tag, "dtype": "float32"},
        setup=_key_setup(impl),
        contenders=[
            Contender("mlmath_jax", functools.partial(_ours_normal, impl=impl, n=n)),
            Contender("jax.random", functools.partial(_jax_normal, impl=impl, n=n)),
            Contender(
                "numpy.Generator",
                _numpy(lambda g: LOC + SCALE * g.standard_normal(n, np.float32)),
                "host",
            ),
        ],
        reference=lambda *_: (LOC, SCALE**2, 3.0),
        error=_moments_z,
        tol=6.0,
        bytes=4.0 * n,
        quick=quick,
    )


def _gamma_case(n: int, impl: str, tag: str, quick: bool, with_jax: bool) -> Case:
    contenders = [Contender("mlmath_jax", functools.partial(_ours_gamma, impl=impl, n=n))]
    if with_jax:  # jax.random.gamma's whole-array rejection loop is ~20x slower on CPU
        contenders.append(Contender("jax.random", functools.partial(_jax_gamma, impl=impl, n=n)))
    contenders.append(
        Contender(
            "numpy.Generator",
            _numpy(lambda g: g.standard_gamma(CONC, n, np.float32) / RATE),
            "host",
        )
    )
    return Case(
        name=f"prob.sample.gamma.{tag}",
        params={"n": n, "key": tag, "dtype": "float32", "concentration": CONC},
        setup=_key_setup(impl),
        contenders=contenders,
        reference=lambda *_: (CONC / RATE, CONC / RATE**2, 3.0 + 6.0 / CONC),
        error=_moments_z,
        tol=6.0,
        bytes=4.0 * n,
        quick=quick,
    )


def _categorical_case(n: int, impl: str, tag: str, quick: bool, with_jax: bool) -> Case:
    p = _probs()
    cdf = np.cumsum(p.astype(np.float64))
    contenders = [Contender("mlmath_jax", functools.partial(_ours_categorical, impl=impl, n=n))]
    if with_jax:  # Gumbel-max: K uniforms and 2K logs per draw
        contenders.append(
            Contender("jax.random", functools.partial(_jax_categorical, impl=impl, n=n))
        )
    contenders += [
        Contender(
            "numpy.Generator", _numpy(lambda g: g.choice(K, n, p=p.astype(np.float64))), "host"
        ),
        Contender(
            "numpy.searchsorted",
            _numpy(lambda g: np.searchsorted(cdf, g.random(n) * cdf[-1], side="right")),
            "host",
        ),
    ]
    return Case(
        name=f"prob.sample.categorical.{tag}",
        params={"n": n, "key": tag, "K": K},
        setup=_key_setup(impl),
        contenders=contenders,
        reference=lambda *_: p,
        error=_freq_z,
        tol=6.0,
        bytes=4.0 * n,
        quick=quick,
    )


def cases(quick: bool) -> list[Case]:
    out = []
    for impl in ("threefry2x32", "rbg"):
        tag = "threefry" if impl.startswith("threefry") else "rbg"
        if quick:  # gamma compiles slowly: threefry only
            out.append(_normal_case(1_000_000, impl, tag, True))
            if tag == "threefry":
                out.append(_gamma_case(100_000, impl, tag, True, with_jax=True))
            out.append(_categorical_case(200_000, impl, tag, True, with_jax=True))
        else:
            out += [
                _normal_case(10_000_000, impl, tag, False),
                _gamma_case(1_000_000, impl, tag, False, with_jax=True),
                _gamma_case(10_000_000, impl, tag, False, with_jax=False),
                _categorical_case(1_000_000, impl, tag, False, with_jax=True),
                _categorical_case(10_000_000, impl, tag, False, with_jax=False),
            ]
    return out
