"""Linear algebra: products, rank, solves, determinants, norms and eigendecompositions.

NumPy-compatible signatures with batch dimensions, validated at trace time, usable
under ``jit``, ``vmap`` and ``grad``.

Examples:
  >>> import jax.numpy as jnp
  >>> from mlmath_jax import linalg
  >>> linalg.solve(jnp.eye(2), jnp.array([1.0, 2.0]))
  Array([1., 2.], dtype=float32)
"""

from ._eigen import EighResult as EighResult
from ._eigen import EigResult as EigResult
from ._eigen import PowerIterationResult as PowerIterationResult
from ._eigen import charpoly as charpoly
from ._eigen import eig as eig
from ._eigen import eigh as eigh
from ._eigen import eigvals as eigvals
from ._eigen import eigvalsh as eigvalsh
from ._eigen import is_psd as is_psd
from ._eigen import power_iteration as power_iteration
from ._lanczos import EigshResult as EigshResult
from ._lanczos import eigsh as eigsh
from ._norms import matrix_norm as matrix_norm
from ._norms import vector_norm as vector_norm
from ._products import inner as inner
from ._products import matmul as matmul
from ._products import matvec as matvec
from ._products import outer as outer
from ._solve import SlogdetResult as SlogdetResult
from ._solve import cond as cond
from ._solve import det as det
from ._solve import inv as inv
from ._solve import pinv as pinv
from ._solve import slogdet as slogdet
from ._solve import solve as solve
from ._structure import is_linearly_independent as is_linearly_independent
from ._structure import rank as rank

__all__ = [
    "EigResult",
    "EighResult",
    "EigshResult",
    "PowerIterationResult",
    "SlogdetResult",
    "charpoly",
    "cond",
    "det",
    "eig",
    "eigh",
    "eigsh",
    "eigvals",
    "eigvalsh",
    "inner",
    "inv",
    "is_linearly_independent",
    "is_psd",
    "matmul",
    "matrix_norm",
    "matvec",
    "outer",
    "pinv",
    "power_iteration",
    "rank",
    "slogdet",
    "solve",
    "vector_norm",
]
