"""mlmath_jax: the mathematics under machine learning, as pure, jit-compiled JAX functions.

Five areas, each a namespace: ``linalg``, ``prob``, ``calculus``, ``optim`` and ``ml``.

Example:
  >>> import jax.numpy as jnp
  >>> from mlmath_jax import linalg
  >>> linalg.det(jnp.eye(3))
  Array(1., dtype=float32)
"""

from importlib import metadata as _metadata

from . import calculus as calculus
from . import linalg as linalg
from . import ml as ml
from . import optim as optim
from . import prob as prob

try:
    __version__: str = _metadata.version("mlmath_jax")
except _metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.1.0+source"

__all__ = ["__version__", "calculus", "linalg", "ml", "optim", "prob"]
