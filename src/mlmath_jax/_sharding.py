"""Contractions over a sharded axis that work on explicit and auto meshes alike.

JAX's explicit mesh axes (the default of ``jax.make_mesh``) refuse a contraction over a
sharded dimension unless the caller says how the output is sharded ("Contracting dimensions
are sharded and it is ambiguous..."). Every Gram-type product in the kit (``Xᵀ X``, ``Xᵀ r``)
contracts over the rows, which is the axis users shard. :func:`contract` asks for a
replicated output in that case, which XLA computes as per-device partial products and one
all-reduce of the small result (``O(d²)`` values), never a gather of the rows. Off a mesh,
or on an auto mesh, it is plain ``jnp.einsum`` and partitioning is left to ``jit``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import AxisType, NamedSharding, PartitionSpec

HIGHEST = jax.lax.Precision.HIGHEST


def replicated_if_explicit(*operands: Any) -> NamedSharding | None:
    """A replicated ``out_sharding`` when an operand is sharded on an explicit mesh axis.

    Returns None (let JAX decide) for unsharded operands, auto meshes and concrete
    single-device arrays.
    """
    for x in operands:
        sharding = getattr(jax.typeof(x), "sharding", None)
        mesh = getattr(sharding, "mesh", None)
        if mesh is None or mesh.empty:
            continue
        explicit = any(t == AxisType.Explicit for t in mesh.axis_types)
        if explicit and any(entry is not None for entry in sharding.spec):
            return NamedSharding(mesh, PartitionSpec())
    return None


def contract(subscripts: str, *operands: Any, precision: Any = HIGHEST) -> jax.Array:
    """``jnp.einsum(subscripts, *operands)`` with a replicated output on explicit meshes.

    Use it for products that contract the (possibly sharded) sample axis, e.g.
    ``contract("nd,ne->de", X, X)`` for ``Xᵀ X`` or ``contract("nd,n->d", X, r)`` for
    ``Xᵀ r``; the result is small and replicated, so what follows runs on every device.
    """
    return jnp.einsum(
        subscripts, *operands, precision=precision,
        out_sharding=replicated_if_explicit(*operands),
    )
