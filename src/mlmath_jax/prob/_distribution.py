"""Shared machinery of the distributions: pytree base class, shapes, validation, inversion.

Pytree idiom (one for every distribution; ``ml``'s models use the same):

* Each family is a frozen dataclass (``eq=False``) whose dataclass fields are its array
  parameters, registered by :func:`register` with
  ``jax.tree_util.register_pytree_with_keys``: every field is a child (key paths name
  them, as ``register_dataclass`` does) and there is no static metadata.
* Validation of user input runs only in ``__init__``/``__post_init__`` (user construction).
  Unflattening (``jax.tree.map``, ``jit`` outputs, ``vmap``, ``grad`` cotangents) builds
  the instance with ``object.__new__`` and ``object.__setattr__``, never the constructor,
  so leaves that tree utilities put there (``None``, tracers, negative cotangents) are kept
  as they are and nothing is re-validated.
* ``==`` is object identity (``eq=False``), so it never raises and instances hash; compare
  parameters explicitly (``jnp.array_equal(a.loc, b.loc)``) for structural equality.

Two tiers of validation (house style): types and shapes raise while tracing, naming the
parameter (``None`` or a string for a parameter raises ``TypeError`` at construction);
parameter *values* raise ``ValueError`` only when known at construction (concrete arrays or
Python numbers). Traced invalid parameters (inside ``jit``) make every method return NaN
(integer samples of discrete families: ``-1``), as ``jax.scipy.stats`` gives NaN.

Every public method runs one module-level jitted function of the distribution pytree and
its array arguments, so it compiles once per (family, shapes, dtypes) and a repeated eager
call with new parameter values compiles nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from .. import _pytree, _validate
from ._special import safe_exp


def as_param(value: Any, name: str) -> jax.Array:
    """A parameter as a real floating array; ``TypeError`` naming it for non-numbers."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number or array, got {type(value).__name__}")
    return _validate.as_real(value, name)


def float_params(values: dict[str, Any]) -> dict[str, jax.Array]:
    """Convert parameters to one common real floating dtype and broadcast them.

    Raises:
      TypeError: a parameter is not a real numeric array.
      ValueError: the parameters' shapes do not broadcast (naming them).
    """
    arrays = {name: as_param(v, name) for name, v in values.items()}
    dtype = jnp.result_type(*arrays.values())
    shape = _validate.batch_shape([a.shape for a in arrays.values()], list(arrays))
    return {name: jnp.broadcast_to(a.astype(dtype), shape) for name, a in arrays.items()}


def check_values(
    value: jax.Array, ok: Callable[[jax.Array], jax.Array], name: str, expected: str
) -> None:
    """Raise ``ValueError`` if concrete ``value`` fails ``ok`` anywhere; skip tracers.

    Runs under ``jax.ensure_compile_time_eval`` so concrete parameters are checked even while
    a ``jit`` is tracing the code that builds the distribution.
    """
    if not _validate.is_concrete(value):
        return
    with jax.ensure_compile_time_eval():
        good = ok(value)
        if _validate.is_concrete(good) and value.size and not bool(jnp.all(good)):
            raise ValueError(f"{name} must be {expected}, got {_validate.describe(value)}")


def probs_sum_to_one(probs: jax.Array, name: str) -> None:
    """Raise ``ValueError`` if concrete ``probs`` (last axis) do not sum to 1 within sqrt(eps)."""
    atol = float(jnp.sqrt(jnp.finfo(probs.dtype).eps))
    check_values(
        probs,
        lambda p: jnp.abs(jnp.sum(p, axis=-1) - 1) <= atol,
        name,
        f"probabilities summing to 1 along the last axis (within {atol:.1e})",
    )


def sample_shape_of(sample_shape: Any) -> tuple[int, ...]:
    """Normalise a static ``sample_shape`` (an int or a sequence of ints) to a tuple."""
    if isinstance(sample_shape, numbers.Integral) and not isinstance(sample_shape, bool):
        sample_shape = (sample_shape,)
    if not isinstance(sample_shape, Sequence):
        raise TypeError(
            f"sample_shape must be an int or a tuple of ints, got {type(sample_shape).__name__}"
        )
    return tuple(_validate.static_int(s, "sample_shape", minimum=0) for s in sample_shape)


def bisect_smallest(
    predicate: Callable[[jax.Array], jax.Array], lower: jax.Array, upper: jax.Array
) -> jax.Array:
    """Smallest float ``x`` in ``[lower, upper]`` (both >= 0) with ``predicate(x)`` true.

    ``predicate`` must be monotone (false then true) on ``[lower, upper]``. The search runs on
    the bit patterns of non-negative floats, which are ordered like the values, so it is
    exact to the last bit in 32 (float32) or 64 (float64) steps and equally accurate for tiny
    and huge quantiles. Returns ``upper`` where the predicate is never true.
    """
    dtype = lower.dtype
    itype = jnp.int32 if dtype == jnp.float32 else jnp.int64
    bits = jnp.finfo(dtype).bits

    def to_int(x):
        return lax.bitcast_convert_type(x, itype)

    lo, hi = to_int(lower), to_int(upper)

    def step(_, carry):
        lo, hi = carry
        mid = lo + (hi - lo) // 2
        ok = predicate(lax.bitcast_convert_type(mid, dtype))
        return jnp.where(ok, lo, mid + 1), jnp.where(ok, mid, hi)

    _, hi = lax.fori_loop(0, bits, step, (lo, hi))
    return lax.bitcast_convert_type(hi, dtype)


def implicit_inverse(
    solve: Callable[[tuple, jax.Array], jax.Array],
    cdf: Callable[[tuple, jax.Array], jax.Array],
    pdf: Callable[[tuple, jax.Array], jax.Array],
) -> Callable[[tuple, jax.Array], jax.Array]:
    """Wrap a numerical quantile ``solve(params, q)`` with its implicit-function derivative.

    ``dx = (dq - dF/dparams . dparams) / pdf(x)``; parameter tangents are only formed when
    present (symbolic zeros skipped), so families whose CDF has no parameter derivative
    (``betainc``) still differentiate with respect to ``q``.
    """

    @jax.custom_jvp
    def inverse(params, q):
        return solve(params, q)

    def inverse_jvp(primals, tangents):
        params, q = primals
        dparams, dq = tangents
        x = inverse(params, q)
        density = pdf(params, x)
        num = jnp.zeros_like(x)
        if not isinstance(dq, jax.custom_derivatives.SymbolicZero):
            num = num + dq
        live = [
            i
            for i, t in enumerate(dparams)
            if not isinstance(t, jax.custom_derivatives.SymbolicZero)
        ]
        if live:

            def cdf_of_live(*live_params):
                full = list(params)
                for i, p in zip(live, live_params, strict=True):
                    full[i] = p
                return cdf(tuple(full), x)

            _, dcdf = jax.jvp(
                cdf_of_live, tuple(params[i] for i in live), tuple(dparams[i] for i in live)
            )
            num = num - dcdf
        return x, num / density

    inverse.defjvp(inverse_jvp, symbolic_zeros=True)
    return inverse


@dataclasses.dataclass(frozen=True, eq=False)
class Distribution:
    """Base of every distribution: shapes, sampling shapes and the NaN guard.

    Subclasses are frozen dataclasses whose fields are the parameters (``_params``),
    registered as pytrees with :func:`register`, and implement ``_canonical`` (convert,
    broadcast, check), ``_valid`` (traced validity mask), ``_sample`` and the private
    ``_log_prob``/``_mean``/... methods. ``==`` is identity (see the module docstring).

    Examples:
      >>> from mlmath_jax import prob
      >>> isinstance(prob.Normal(0.0, 1.0), prob.Distribution)
      True
    """

    _params: ClassVar[tuple[str, ...]] = ()
    _event_rank: ClassVar[int] = 0
    # (parameter, largest value) for integer samplers whose draws grow with a parameter.
    _sample_range: ClassVar[tuple[str, float] | None] = None

    def __post_init__(self) -> None:
        # User construction only: unflattening bypasses __init__ (see register).
        values = {name: getattr(self, name) for name in self._params}
        with jax.ensure_compile_time_eval():
            values = self._canonical(values)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _init_params(self, **params: ArrayLike) -> None:
        """The body of a family's ``__init__``: what a dataclass ``__init__`` does.

        Families write ``__init__`` themselves so that it takes ``ArrayLike`` while the
        fields are annotated with what ``__post_init__`` stores there, ``jax.Array``.
        """
        for name, value in params.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    # --- hooks -----------------------------------------------------------------------
    def _canonical(self, values: dict[str, Any]) -> dict[str, jax.Array]:
        raise NotImplementedError

    def _valid(self) -> jax.Array:
        raise NotImplementedError

    def _sample(self, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        raise NotImplementedError

    if TYPE_CHECKING:  # hooks every family defines (no default at run time)

        def _log_prob(self, x: jax.Array) -> jax.Array: ...
        def _mean(self) -> jax.Array: ...
        def _variance(self) -> jax.Array: ...
        def _entropy(self) -> jax.Array: ...

    # --- shapes ----------------------------------------------------------------------
    @property
    def _first(self) -> jax.Array:
        return getattr(self, self._params[0])

    @property
    def dtype(self) -> Any:
        """Floating dtype of the parameters (and of continuous samples)."""
        return self._first.dtype

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Shape of the batch of distributions (the broadcast parameter shape)."""
        shape = self._first.shape
        return tuple(shape[: len(shape) - self._event_rank])

    @property
    def event_shape(self) -> tuple[int, ...]:
        """Shape of one draw: ``()`` for univariate families, ``(d,)`` for vector ones."""
        shape = self._first.shape
        return tuple(shape[len(shape) - self._event_rank :])

    # --- guards ----------------------------------------------------------------------
    def _guard(self, out: jax.Array, *, event: bool = False) -> jax.Array:
        """NaN where the (possibly traced) parameters are invalid; ``event`` for [..., d]."""
        valid = self._valid()
        if event:
            valid = valid.reshape(valid.shape + (1,) * self._event_rank)
        if jnp.issubdtype(out.dtype, jnp.integer):
            return jnp.where(valid, out, -1)
        return jnp.where(valid, out, jnp.nan)

    def _value(self, x: ArrayLike, name: str = "x") -> jax.Array:
        """A point ``x`` as an array of the distribution's dtype (or wider float).

        Raises ``ValueError`` (while tracing) if ``x``'s shape does not broadcast against
        ``batch_shape + event_shape``.
        """
        x = _validate.as_real(x, name) if not _is_int(x) else jnp.asarray(x)
        self._check_point_shape(x.shape, name)
        return x.astype(jnp.result_type(x, self.dtype))

    def _check_point_shape(self, shape: tuple[int, ...], name: str) -> None:
        event = self.event_shape
        full = self.batch_shape + event
        ok = len(shape) >= len(event)
        if ok:
            try:
                jnp.broadcast_shapes(shape, full)
            except ValueError:
                ok = False
        if not ok:
            raise ValueError(
                f"{name} must broadcast against batch_shape {self.batch_shape} + event_shape "
                f"{event} of {type(self).__name__}, got shape {tuple(shape)}"
            )

    # --- public methods --------------------------------------------------------------
    def sample(self, key: ArrayLike, sample_shape: int | Sequence[int] = ()) -> jax.Array:
        """Draw samples (as ``scipy.stats``' ``rvs``, but from a JAX key).

        Continuous families are reparameterised: the samples are differentiable functions
        of the parameters, so ``jax.grad`` flows through them. Any key implementation
        works (``jax.random.key(0)``, ``jax.random.key(0, impl="rbg")``, raw ``PRNGKey``).

        Args:
          key: a single JAX PRNG key.
          sample_shape: static int or tuple of ints.

        Returns:
          ``sample_shape + batch_shape + event_shape`` samples; floats of the parameters'
          dtype, or ``int32`` values for discrete families.

        Raises:
          TypeError: if ``key`` is not a single PRNG key or ``sample_shape`` not ints.
          ValueError: for concrete parameters whose samples would overflow ``int32``
            (``Poisson`` rate above 2e9, ``Binomial`` total_count above 2**31 - 1);
            traced ones give samples ``-1`` there.

        Examples:
          >>> import jax
          >>> import jax.numpy as jnp
          >>> from mlmath_jax.prob import Normal
          >>> Normal(jnp.zeros(3), 1.0).sample(jax.random.key(0), (5,)).shape
          (5, 3)
        """
        shape = sample_shape_of(sample_shape) + self.batch_shape
        _validate.prng_key(key, "key")
        if self._sample_range is None:
            return _jit_sample(self, key, shape)
        out, ok = _jit_sample_in_range(self, key, shape)
        if _validate.is_concrete(ok) and not bool(ok):
            name, bound = self._sample_range
            raise ValueError(
                f"{type(self).__name__}.sample: {name} must be <= {bound:g} so that the "
                f"samples fit int32, got {getattr(self, name)}"
            )
        return out

    def log_prob(self, x: ArrayLike) -> jax.Array:
        """Log density (continuous) or log mass (discrete) at ``x`` (``scipy.stats`` logpdf/logpmf).

        Args:
          x: points of shape ``[..., *batch_shape, *event_shape]`` (broadcasting).

        Returns:
          ``[..., *batch_shape]``; ``-inf`` outside the support.

        Examples:
          >>> from mlmath_jax.prob import Normal
          >>> Normal(0.0, 1.0).log_prob(0.0)
          Array(-0.9189385, dtype=float32)
        """
        return _jit_log_prob(self, _arg(x, "x"))

    def prob(self, x: ArrayLike) -> jax.Array:
        """Density or mass at ``x``: ``exp(log_prob(x))`` (``scipy.stats`` pdf/pmf).

        Values below the normal float range come back as subnormals, as in SciPy
        (``Beta(267, 1472).prob(0.6)`` is ``1.7e-320`` in float64), not flushed to 0.

        Examples:
          >>> from mlmath_jax.prob import Bernoulli
          >>> Bernoulli(0.25).prob(1)
          Array(0.25, dtype=float32)
        """
        return _jit_prob(self, _arg(x, "x"))

    def mean(self) -> jax.Array:
        """Mean, ``batch_shape + event_shape`` (``scipy.stats`` ``mean``).

        Examples:
          >>> from mlmath_jax.prob import Exponential
          >>> Exponential(2.0).mean()
          Array(0.5, dtype=float32)
        """
        return _jit_mean(self)

    def variance(self) -> jax.Array:
        """Variance, ``batch_shape + event_shape`` (marginal variances for vector families).

        Examples:
          >>> from mlmath_jax.prob import Exponential
          >>> Exponential(2.0).variance()
          Array(0.25, dtype=float32)
        """
        return _jit_variance(self)

    def stddev(self) -> jax.Array:
        """Standard deviation, ``sqrt(variance())`` (``scipy.stats`` ``std``).

        Examples:
          >>> from mlmath_jax.prob import Exponential
          >>> Exponential(2.0).stddev()
          Array(0.5, dtype=float32)
        """
        return _jit_stddev(self)

    def entropy(self) -> jax.Array:
        """Differential (continuous) or Shannon (discrete) entropy in nats, ``batch_shape``.

        Examples:
          >>> from mlmath_jax.prob import Exponential
          >>> Exponential(1.0).entropy()
          Array(1., dtype=float32)
        """
        return _jit_entropy(self)


class Univariate(Distribution):
    """Scalar-valued families: adds ``cdf`` and ``median``."""

    if TYPE_CHECKING:  # hooks every family defines (no default at run time)

        def _cdf(self, x: jax.Array) -> jax.Array: ...
        def _median(self) -> jax.Array: ...

    def cdf(self, x: ArrayLike) -> jax.Array:
        """Cumulative distribution function ``P(X <= x)`` (``scipy.stats`` ``cdf``).

        Args:
          x: points, broadcasting against ``batch_shape``.

        Returns:
          ``[..., *batch_shape]`` values in ``[0, 1]``.

        Examples:
          >>> from mlmath_jax.prob import Uniform
          >>> Uniform(0.0, 4.0).cdf(1.0)
          Array(0.25, dtype=float32)
        """
        return _jit_cdf(self, _arg(x, "x"))

    def median(self) -> jax.Array:
        """Median (``scipy.stats`` ``median``: ``ppf(0.5)``; smallest ``k`` with ``cdf(k) >= 1/2``).

        Examples:
          >>> from mlmath_jax.prob import Uniform
          >>> Uniform(0.0, 4.0).median()
          Array(2., dtype=float32)
        """
        return _jit_median(self)


class Continuous(Univariate):
    """Continuous scalar families: adds ``icdf``."""

    if TYPE_CHECKING:  # the hook every continuous family defines (no default at run time)

        def _icdf(self, q: jax.Array) -> jax.Array: ...

    def icdf(self, q: ArrayLike) -> jax.Array:
        """Quantile function, the inverse of ``cdf`` (``scipy.stats`` ``ppf``).

        Args:
          q: probabilities, broadcasting against ``batch_shape``; NaN outside ``[0, 1]``.

        Returns:
          ``[..., *batch_shape]`` quantiles; differentiable in ``q`` and the parameters.

        Examples:
          >>> from mlmath_jax.prob import Uniform
          >>> Uniform(0.0, 4.0).icdf(0.75)
          Array(3., dtype=float32)
        """
        return _jit_icdf(self, _arg(q, "q"))

    def _median(self) -> jax.Array:
        return self._icdf(jnp.full(self.batch_shape, 0.5, self.dtype))


# The public methods run as module-level compiled functions of the distribution pytree:
# one compilation per family, shapes and dtypes, then no compile on repeated eager calls
# (inside a user's jit they are inlined).
def _check_key(key: Any) -> None:
    _validate.prng_key(key, "key")


def _nan_where_nan(out: jax.Array, x: jax.Array, event_rank: int) -> jax.Array:
    """NaN in, NaN out: a NaN coordinate of a point makes its value NaN (as SciPy)."""
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return out
    bad = jnp.isnan(x)
    if event_rank:
        bad = jnp.any(bad, axis=tuple(range(-event_rank, 0)))
    return jnp.where(bad, jnp.nan, out)


@functools.partial(jax.jit, static_argnums=2)
def _jit_sample(dist: Distribution, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    _check_key(key)
    return dist._guard(dist._sample(key, shape), event=True)


@functools.partial(jax.jit, static_argnums=2)
def _jit_sample_in_range(
    dist: Distribution, key: jax.Array, shape: tuple[int, ...]
) -> tuple[jax.Array, jax.Array]:
    assert dist._sample_range is not None  # sample() calls this only then
    name, bound = dist._sample_range
    in_range = getattr(dist, name) <= bound  # NaN and inf are out of range
    out = jnp.where(in_range, _jit_sample(dist, key, shape), -1)
    return out, jnp.all(in_range | ~dist._valid())


def _log_prob_body(dist: Distribution, x: ArrayLike) -> jax.Array:
    x = dist._value(x)
    out = dist._guard(dist._log_prob(x))
    return _nan_where_nan(out, x, dist._event_rank)


@jax.jit
def _jit_log_prob(dist: Distribution, x: jax.Array) -> jax.Array:
    return _log_prob_body(dist, x)


@jax.jit
def _jit_prob(dist: Distribution, x: jax.Array) -> jax.Array:
    # safe_exp keeps a subnormal density (exp(-736) = 1.7e-320 in float64) that XLA's CPU
    # exp would flush to 0.
    return safe_exp(_log_prob_body(dist, x))


@jax.jit
def _jit_mean(dist: Distribution) -> jax.Array:
    return dist._guard(dist._mean(), event=True)


@jax.jit
def _jit_variance(dist: Distribution) -> jax.Array:
    return dist._guard(dist._variance(), event=True)


@jax.jit
def _jit_stddev(dist: Distribution) -> jax.Array:
    return jnp.sqrt(dist._guard(dist._variance(), event=True))


@jax.jit
def _jit_entropy(dist: Distribution) -> jax.Array:
    return dist._guard(dist._entropy())


@jax.jit
def _jit_cdf(dist: Univariate, x: jax.Array) -> jax.Array:
    x = dist._value(x)
    return _nan_where_nan(dist._guard(dist._cdf(x)), x, 0)


@jax.jit
def _jit_median(dist: Univariate) -> jax.Array:
    return dist._guard(dist._median())


@jax.jit
def _jit_icdf(dist: Continuous, q: jax.Array) -> jax.Array:
    q = dist._value(q, "q")
    out = dist._icdf(q)
    return dist._guard(jnp.where((q >= 0) & (q <= 1), out, jnp.nan))


def _arg(x: Any, name: str) -> Any:
    """Pass arrays and numbers to the jitted body as they are; convert anything else here.

    Lists become arrays, and ``None`` or strings raise a ``TypeError`` naming the argument
    (instead of an error from inside ``jit``).
    """
    if isinstance(x, (jax.Array, numbers.Number)):
        return x
    dtype = getattr(x, "dtype", None)  # NumPy arrays and scalars of numbers
    if (
        hasattr(x, "shape")
        and dtype is not None
        and (jnp.issubdtype(dtype, jnp.number) or dtype == jnp.bool_)
    ):
        return x
    return _validate.as_real(x, name)


def _is_int(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, numbers.Integral)
    return jnp.issubdtype(dtype, jnp.integer) or dtype == jnp.bool_


def register(cls: type) -> type:
    """Register a distribution dataclass as a pytree whose children are all its fields.

    The shared idiom of :func:`mlmath_jax._pytree.register`: unflattening builds the instance
    with ``object.__new__`` and ``object.__setattr__``; no constructor and no validation run.
    """
    return _pytree.register(cls)
