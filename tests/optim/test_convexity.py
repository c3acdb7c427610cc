import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import optim
from tests.conftest import assert_close, random_spd

PTS = jax.random.normal(jax.random.key(3), (12, 4))


def test_convex_functions_pass():
    a = random_spd(np.random.default_rng(0), (4, 4), cond=100.0).astype(np.float32)
    f = optim.quadratic(a, jnp.ones(4))
    rep = optim.convexity_check(f, PTS, jax.random.key(0))
    assert bool(rep.is_convex)
    assert_close(rep.min_hessian_eigenvalue, 2 * np.linalg.eigvalsh(a)[0], rtol=1e-4)
    assert float(rep.max_jensen_gap) < 0  # strictly convex, distinct endpoints
    rep = optim.convexity_check(jax.nn.logsumexp, PTS, jax.random.key(0))
    assert bool(rep.is_convex)
    # logsumexp is flat along the ones vector: min eigenvalue 0 up to rounding
    assert abs(float(rep.min_hessian_eigenvalue)) < 1e-5


def test_nonconvex_detected_by_hessian_and_jensen():
    def f(x):
        return jnp.sum(x**4 - 2 * x**2)

    rep = optim.convexity_check(f, PTS, jax.random.key(1), num_segments=200)
    assert not bool(rep.is_convex)
    expected = np.min(12 * np.asarray(PTS) ** 2 - 4)
    assert_close(rep.min_hessian_eigenvalue, expected, rtol=1e-5)
    assert float(rep.max_jensen_gap) > 0


def test_jensen_gap_alone_sees_concavity_between_points():
    # Convex at every sample point (x = ±2: f'' = 2) but concave in between (|x| < 1).
    def f(x):
        return jnp.sum(jnp.where(jnp.abs(x) > 1, (jnp.abs(x) - 2) ** 2, 2 - x**2))

    pts = jnp.array([[-2.0], [2.0], [-2.1], [1.9]])
    rep = optim.convexity_check(f, pts, jax.random.key(0), num_segments=50)
    assert float(rep.min_hessian_eigenvalue) > 0
    assert float(rep.max_jensen_gap) > 0.5
    assert not bool(rep.is_convex)


def test_convexity_pytree_points_and_jit():
    def f(p):
        return jnp.sum(p["a"] ** 2) + jnp.exp(p["b"])

    pts = {"a": PTS[:, :3], "b": PTS[:, 3]}
    rep = jax.jit(lambda p, k: optim.convexity_check(f, p, k))(pts, jax.random.key(2))
    assert bool(rep.is_convex)
    assert_close(rep.min_hessian_eigenvalue, np.min(np.exp(np.asarray(PTS[:, 3]))), rtol=1e-5)


def test_convexity_bad_input():
    with pytest.raises(TypeError, match="fun must be callable"):
        optim.convexity_check("f", PTS, jax.random.key(0))
    with pytest.raises(ValueError, match="leading sample axis"):
        optim.convexity_check(
            jnp.sum, {"a": jnp.ones((3, 2)), "b": jnp.ones((4,))}, jax.random.key(0)
        )
    with pytest.raises(ValueError, match="fun must return a scalar"):
        optim.convexity_check(lambda x: x, PTS, jax.random.key(0))


def _scaled_quartic(x, c):
    return jnp.sum(x**4 - c * x**2)


def test_convexity_args_equal_closure():
    for c, convex in [(-1.0, True), (2.0, False)]:
        rep = optim.convexity_check(_scaled_quartic, PTS, jax.random.key(1), (c,))
        ref = optim.convexity_check(lambda x: _scaled_quartic(x, c), PTS, jax.random.key(1))  # noqa: B023
        assert bool(rep.is_convex) == convex == bool(ref.is_convex)
        assert_close(rep.min_hessian_eigenvalue, ref.min_hessian_eigenvalue, rtol=1e-6)
        assert_close(rep.max_jensen_gap, ref.max_jensen_gap, rtol=1e-6)
        expected = np.min(12 * np.asarray(PTS) ** 2 - 2 * c)
        assert_close(rep.min_hessian_eigenvalue, expected, rtol=1e-5)


def test_convexity_pieces_alone():
    from mlmath_jax.optim import _convexity

    def f(z):
        return -jnp.sum(z**2)  # concave: every Hessian eigenvalue -2, every gap positive

    lam, ok = _convexity.hessian_evidence(f, PTS, ())
    assert_close(lam, -2.0, rtol=1e-6)
    assert not bool(ok)
    gap, ok = _convexity.jensen_evidence(f, PTS, jax.random.key(0), (), 16)
    assert float(gap) > 0 and not bool(ok)
    gap, ok = _convexity.jensen_evidence(f, PTS[:1], jax.random.key(0), (), 16)
    assert float(gap) == -np.inf and bool(ok)  # one point: no segment


def test_convexity_args_must_be_a_tuple():
    with pytest.raises(TypeError, match="args must be a tuple"):
        optim.convexity_check(_scaled_quartic, PTS, jax.random.key(0), 1.0)
    with pytest.raises(ValueError, match="num_segments must be >= 0"):
        optim.convexity_check(_scaled_quartic, PTS, jax.random.key(0), (1.0,), num_segments=-1)
