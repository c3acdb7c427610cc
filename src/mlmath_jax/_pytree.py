"""The one pytree idiom of the kit's distributions and fitted models.

* A distribution or model is a frozen dataclass with ``eq=False``: ``==`` is object identity,
  so it never raises on array fields and instances hash; compare fields explicitly
  (``jnp.array_equal(a.coef, b.coef)``) for equal values.
* :func:`register` makes its array fields the pytree children (key paths name them) and its
  options (such as ``LinearModel.kind``) static metadata, so an option is part of the treedef
  and a compiled function specialises on it.
* Checks run in constructors or ``fit`` functions on user input only. Unflattening (``jit``
  outputs, ``vmap``, ``jax.tree.map``) builds the instance with ``object.__new__`` and
  ``object.__setattr__``: no constructor runs and nothing is re-validated, so leaves that tree
  utilities put there (``None``, tracers, cotangents) are kept as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

import jax

T = TypeVar("T")


def register(cls: type[T], meta_fields: Sequence[str] = ()) -> type[T]:
    """Register a dataclass: ``meta_fields`` static, every other field a child."""
    meta = tuple(meta_fields)
    fields = dataclasses.fields(cls)  # pyright: ignore[reportArgumentType]  # cls: a dataclass
    names = tuple(f.name for f in fields if f.name not in meta)
    keys = tuple(jax.tree_util.GetAttrKey(n) for n in names)

    def flatten_with_keys(obj):
        children = [(k, getattr(obj, n)) for k, n in zip(keys, names, strict=True)]
        return children, tuple(getattr(obj, m) for m in meta)

    def flatten(obj):
        return [getattr(obj, n) for n in names], tuple(getattr(obj, m) for m in meta)

    def unflatten(aux, children):
        obj = object.__new__(cls)
        for n, child in zip(names, children, strict=True):
            object.__setattr__(obj, n, child)
        for m, value in zip(meta, aux, strict=True):
            object.__setattr__(obj, m, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls
