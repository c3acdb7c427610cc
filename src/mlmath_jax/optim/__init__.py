"""mlmath_jax.optim: quadratics, convexity checks, optax-driven minimisation, Newton, prox.

Every solver calls ``fun(x, *args)`` and compiles once per (function, static options,
shapes and dtypes): pass data in ``args``.

Examples:
  >>> import jax.numpy as jnp
  >>> from mlmath_jax import optim
  >>> optim.prox_l1(jnp.array([2.0, -3.0]), 1.0)
  Array([ 1., -2.], dtype=float32)
"""

from ._convexity import ConvexityReport as ConvexityReport
from ._convexity import convexity_check as convexity_check
from ._minimize import minimize as minimize
from ._newton import newton as newton
from ._proximal import prox_elastic_net as prox_elastic_net
from ._proximal import prox_group_lasso as prox_group_lasso
from ._proximal import prox_l1 as prox_l1
from ._proximal import prox_nuclear as prox_nuclear
from ._proximal import proximal_gradient as proximal_gradient
from ._quadratic import quadratic as quadratic
from ._quadratic import quadratic_minimizer as quadratic_minimizer
from ._result import OptResult as OptResult

__all__ = [
    "ConvexityReport",
    "OptResult",
    "convexity_check",
    "minimize",
    "newton",
    "prox_elastic_net",
    "prox_group_lasso",
    "prox_l1",
    "prox_nuclear",
    "proximal_gradient",
    "quadratic",
    "quadratic_minimizer",
]
