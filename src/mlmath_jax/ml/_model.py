"""The pytree idiom of the fitted models: :func:`mlmath_jax._pytree.register`, shared with prob.

* A model is a frozen dataclass with ``eq=False``: ``==`` is object identity, so it never
  raises on array fields and models hash; compare fields explicitly
  (``jnp.array_equal(a.coef, b.coef)``) for equal values.
* :func:`register` makes its array fields the pytree children (key paths name them) and its
  options (such as ``LinearModel.kind``) static metadata, so an option is part of the
  treedef and a compiled function specialises on it.
* Checks run in the ``fit`` functions, never in the constructor. Unflattening (``jit``
  outputs, ``vmap``, ``jax.tree.map``) builds the instance with ``object.__new__`` and
  ``object.__setattr__``: no constructor runs, so leaves that tree utilities put there
  (``None``, tracers, cotangents) are kept as they are.
"""

from __future__ import annotations

from .._pytree import register as register
