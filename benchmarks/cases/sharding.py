"""sharding cases: row-sharded input on every device JAX sees against one device.

Each case runs one data-reducing function (covariance, mean/var, quantile, ridge, PCA) on
the same rows three ways: on one device (``mlmath_jax 1 device``, the harness's usual JAX
contender), and with the rows sharded over a 1-D mesh ``("data",)`` of all devices, with
explicit axes (``jax.make_mesh``'s default) and with auto axes. The sharded contenders are
``kind="host"``: the inputs are sharded once (cached on the host arrays) and the compiled
program is called, so the timed region holds no transfer.

Communication is read from the compiled sharded program (``.compile().as_text()``): the
params record, per mesh kind, the bytes of the results of every all-reduce /
reduce-scatter (``reduced_bytes``) and of every all-gather / all-to-all /
collective-permute (``moved_bytes``), per device. A sharded contender that fails to
compile answers NaN (so the record is marked wrong) and its error is written in the params
(``explicit_error`` / ``auto_error``), not hidden.

On a CPU-only machine JAX sees one device unless told otherwise (``JAX_NUM_CPU_DEVICES=8``
or ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` before JAX starts); with one device
the cases run single-device only (``devices: 1`` in the params). Simulated CPU devices
share the host's cores, so their times show the partitioning overhead, not a speed-up; on a
multi-GPU box the same cases run unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from mlmath_jax import ml, prob

from ..harness import Case, Contender

_BYTES = {
    "f64": 8,
    "f32": 4,
    "bf16": 2,
    "f16": 2,
    "s64": 8,
    "u64": 8,
    "s32": 4,
    "u32": 4,
    "s16": 2,
    "u16": 2,
    "s8": 1,
    "u8": 1,
    "pred": 1,
    "c64": 8,
    "c128": 16,
}
_OP = re.compile(
    r"=\s*(\(?[a-z0-9]+\[[^=]*?)\s+(all-reduce|reduce-scatter|all-gather|all-to-all|"
    r"collective-permute)(-start)?\("
)
_SHAPE = re.compile(r"([a-z]+[0-9]*)\[([0-9,]*)\]")


def collective_bytes(hlo: str) -> dict[str, int]:
    """Bytes of the results of the collectives in a compiled HLO text, per device.

    ``reduced_bytes``: all-reduce and reduce-scatter (partial sums combined);
    ``moved_bytes``: all-gather, all-to-all and collective-permute (data moved as is).
    """
    out = {"reduced_bytes": 0, "moved_bytes": 0}
    for line in re.sub(r"/\*.*?\*/", "", hlo).splitlines():  # /*index=5*/ holds an "="
        match = _OP.search(line)
        if not match:
            continue
        size = 0
        for dtype, dims in _SHAPE.findall(match.group(1)):
            size += _BYTES.get(dtype, 4) * math.prod(int(s) for s in dims.split(",") if s)
        key = (
            "reduced_bytes" if match.group(2) in ("all-reduce", "reduce-scatter") else "moved_bytes"
        )
        out[key] += size
    return out


def _mesh(kind: str) -> jax.sharding.Mesh:
    types = (AxisType.Explicit,) if kind == "explicit" else (AxisType.Auto,)
    return jax.make_mesh((jax.device_count(),), ("data",), axis_types=types)


def _shard(mesh, arr: np.ndarray) -> jax.Array:
    return jax.device_put(arr, NamedSharding(mesh, P("data", *([None] * (arr.ndim - 1)))))


class _Sharded:
    """Host-side contender: shard the inputs once per input set, then call the compiled fn."""

    def __init__(self, fn: Callable, kind: str):
        self.fn, self.kind = fn, kind
        self._key: tuple[int, ...] | None = None
        self._call: Callable[[], Any] | None = None

    def prepare(self, inputs: tuple) -> str:
        """Shard and compile for ``inputs``; return the compiled HLO text."""
        mesh = _mesh(self.kind)
        args = [_shard(mesh, a) for a in inputs]
        with jax.set_mesh(mesh):
            compiled = jax.jit(self.fn).lower(*args).compile()
        self._key = tuple(id(a) for a in inputs)
        self._call = lambda: compiled(*args)
        return compiled.as_text()

    def __call__(self):
        return self._call()


def _case(name: str, fn: Callable, make: Callable, params: dict, tol: float) -> Case:
    devices = jax.device_count()
    params = {**params, "devices": devices}
    sharded = {kind: _Sharded(fn, kind) for kind in ("explicit", "auto")} if devices > 1 else {}

    def run_sharded(kind):
        contender = sharded[kind]

        def call(*inputs):
            # Prepared on the first call, after the single-device contender has run (the
            # harness runs contenders in order): the volumes land in the case's params,
            # which every record of the case holds.
            if contender._key != tuple(id(a) for a in inputs):
                try:
                    volume = collective_bytes(contender.prepare(inputs))
                except Exception as exc:  # recorded, not hidden: a NaN answer fails the check
                    params[f"{kind}_error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
                    return jax.tree.map(
                        lambda v: np.full(np.shape(v), np.nan), jax.eval_shape(fn, *inputs)
                    )
                params.update({f"{kind}_{k}": v for k, v in volume.items()})
            return contender()

        return call

    contenders = [Contender("mlmath_jax 1 device", fn)]
    contenders += [
        Contender(f"mlmath_jax {devices} devices ({kind})", run_sharded(kind), kind="host")
        for kind in sharded
    ]
    return Case(f"sharding.{name}", params, make, contenders, tol=tol, quick=True)


def _rows(n: int, d: int) -> Callable:
    def make(rng):
        x = rng.standard_normal((n, d)).astype(np.float32)
        w = rng.standard_normal(d).astype(np.float32)
        y = (x @ w + 0.1 * rng.standard_normal(n)).astype(np.float32)
        return x, y

    return make


def _only_x(make: Callable) -> Callable:
    return lambda rng: make(rng)[:1]


def cases(quick: bool) -> list[Case]:
    """Covariance, mean/var, quantile, ridge and PCA, sharded vs one device."""
    n, d = (2**16, 16) if quick else (2**20, 64)
    rows = _rows(n, d)
    p = {"n": n, "d": d, "dtype": "float32"}
    q = jnp.array([0.1, 0.5, 0.9])
    return [
        _case("covariance", prob.covariance, _only_x(rows), p, 1e-5),
        _case(
            "mean_var",
            lambda x: (prob.mean(x, axis=0), prob.var(x, axis=0)),
            _only_x(rows),
            p,
            1e-5,
        ),
        _case(
            "quantile",
            lambda x: prob.quantile(x, q, axis=0),
            _only_x(rows),
            {**p, "q": [0.1, 0.5, 0.9]},
            1e-6,
        ),
        _case("ml.ridge", lambda x, y: ml.ridge(x, y, 1.0).coef, rows, p, 1e-4),
        _case("ml.PCA", lambda x: ml.PCA.fit(x, 3).explained_variance, _only_x(rows), p, 1e-4),
    ]
