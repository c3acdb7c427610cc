"""mlmath_jax: the mathematics under machine learning, as pure, jit-compiled JAX functions.

Five areas, each a namespace: ``linalg``, ``prob``, ``calculus``, ``optim`` and ``ml``.

Examples:
  >>> import jax.numpy as jnp
  >>> from mlmath_jax import linalg
  >>> linalg.det(jnp.eye(3))
  Array(1., dtype=float32)
"""

from . import calculus as calculus
from . import linalg as linalg
from . import ml as ml
from . import optim as optim
from . import prob as prob

# The one place the version is written; pyproject.toml reads it (hatch's version source).
__version__ = "0.2.0"

__all__ = ["__version__", "calculus", "linalg", "ml", "optim", "prob"]
