"""mlmath_jax.calculus: Hessian-vector products, Hessian spectra and gradient checks.

Every function taken is called ``fun(x, *args)``: data go in ``args``, so repeated calls
with the same ``fun`` and new data compile nothing.

Examples:
  >>> import jax.numpy as jnp
  >>> from mlmath_jax import calculus
  >>> calculus.hvp(lambda x: jnp.sum(x ** 2), jnp.ones(2), jnp.array([1.0, 0.0]))
  Array([2., 0.], dtype=float32)
"""

from ._check import check_grad as check_grad
from ._hessian import TraceResult as TraceResult
from ._hessian import hessian_eigsh as hessian_eigsh
from ._hessian import hessian_spectral_density as hessian_spectral_density
from ._hessian import hessian_trace as hessian_trace
from ._hessian import hvp as hvp

__all__ = [
    "TraceResult",
    "check_grad",
    "hessian_eigsh",
    "hessian_spectral_density",
    "hessian_trace",
    "hvp",
]
