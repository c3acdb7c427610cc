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
        sharding: Any = getattr(jax.typeof(x), "sharding", None)
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
        subscripts,
        *operands,
        precision=precision,
        out_sharding=replicated_if_explicit(*operands),
    )


def _explicit_spec(x: Any) -> tuple[Any, tuple[Any, ...]] | None:
    """``(mesh, spec padded to x.ndim)`` when ``x`` is sharded on an explicit mesh axis."""
    sharding: Any = getattr(jax.typeof(x), "sharding", None)
    mesh = getattr(sharding, "mesh", None)
    if mesh is None or mesh.empty:
        return None
    if not any(t == AxisType.Explicit for t in mesh.axis_types):
        return None
    spec = tuple(sharding.spec) + (None,) * (jnp.ndim(x) - len(sharding.spec))
    if all(entry is None for entry in spec):
        return None
    return mesh, spec


def _mesh_axes(entry: Any) -> tuple[str, ...]:
    if entry is None:
        return ()
    return tuple(entry) if isinstance(entry, tuple) else (entry,)


def product_out_sharding(a: Any, b: Any, *, vector: bool = False) -> NamedSharding | None:
    """``out_sharding`` for ``a @ b``, ``[..., m, k] @ [..., k, n]`` (or ``[..., k]``).

    ``vector``: ``b`` is ``[..., k]``. None (let JAX decide) unless the contracted ``k``
    axis is sharded on an explicit mesh; then the output keeps the batch and ``m``/``n``
    shardings of the operands and is replicated where the contraction was sharded, which
    XLA computes as per-device partial products and one all-reduce of the ``[..., m, n]``
    result (never a gather of ``k``).
    """
    sa, sb = _explicit_spec(a), _explicit_spec(b)
    k_b = -1 if vector else -2
    if not ((sa and sa[1][-1] is not None) or (sb and sb[1][k_b] is not None)):
        return None
    explicit = sa or sb
    assert explicit is not None  # one of them is sharded (checked above)
    mesh = explicit[0]
    spec_a = sa[1] if sa else (None,) * jnp.ndim(a)
    spec_b = sb[1] if sb else (None,) * jnp.ndim(b)
    core_b = 1 if vector else 2
    batch_a, batch_b = jnp.shape(a)[:-2], jnp.shape(b)[:-core_b]
    nbatch = max(len(batch_a), len(batch_b))
    out: list[Any] = []
    for i in range(nbatch):  # a batch axis keeps the sharding of an operand that has it whole
        ia, ib = i - nbatch + len(batch_a), i - nbatch + len(batch_b)
        entry = None
        if ia >= 0 and batch_a[ia] != 1 and spec_a[ia] is not None:
            entry = spec_a[ia]
        elif ib >= 0 and batch_b[ib] != 1 and spec_b[ib] is not None:
            entry = spec_b[ib]
        out.append(entry)
    out.append(spec_a[-2])
    if not vector:
        out.append(spec_b[-1])
    used: set[str] = set()
    for i, entry in enumerate(out):  # a mesh axis may shard one output axis only
        axes = _mesh_axes(entry)
        if used.intersection(axes):
            out[i] = None
        used.update(axes)
    return NamedSharding(mesh, PartitionSpec(*out))


def on_mesh(*arrays: Any) -> bool:
    """Whether an operand lives on a device mesh of more than one device (static).

    True for arrays sharded over a mesh, explicit or auto (their type carries the mesh, also
    under ``jit``), and inside ``jax.set_mesh``. Callers then take routes made of row-local
    work and small reductions (no QR/SVD of the data itself, no sample sort), which XLA would
    otherwise run by gathering rows.
    """
    meshes = [jax.sharding.get_abstract_mesh()]
    meshes += [getattr(getattr(jax.typeof(a), "sharding", None), "mesh", None) for a in arrays]
    return any(m is not None and not m.empty and m.size > 1 for m in meshes)
