"""One process of the two-process test (run by test_multihost.py, not collected by pytest).

Usage: ``python multihost_worker.py PORT PROCESS_ID OUT.json``. Each process owns half of the
rows, builds global arrays with ``jax.make_array_from_process_local_data`` over a mesh of the
4 CPU devices of each of the 2 processes, and runs the kit's reductions on them; process 0
writes the results as JSON.
"""

from __future__ import annotations

import json
import sys

import jax


def main() -> None:
    """Join the two-process job, compute, and (process 0) write the results."""
    PORT, PID, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    jax.config.update("jax_num_cpu_devices", 4)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        f"127.0.0.1:{PORT}", num_processes=2, process_id=PID, initialization_timeout=60
    )

    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from mlmath_jax import ml, prob

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from multihost_data import rows

    X, y, labels = rows()
    half = X.shape[0] // 2
    mine = slice(PID * half, (PID + 1) * half)
    mesh = jax.make_mesh((8,), ("data",))

    def global_rows(local):
        spec = P("data", *([None] * (local.ndim - 1)))
        return jax.make_array_from_process_local_data(NamedSharding(mesh, spec), local)

    gX, gy, glabels = (global_rows(a[mine]) for a in (X, y, labels))
    assert gX.shape == X.shape and len(gX.addressable_shards) == 4
    with jax.set_mesh(mesh):
        moments = jax.jit(lambda a: prob.Moments.from_data(a, axis=0))(gX)
        results = {
            "quantile": jax.jit(lambda a: prob.quantile(a, jnp.array([0.1, 0.5, 0.9]), axis=0))(gX),
            "moments_mean": moments.mean,
            "moments_var": moments.variance(ddof=1),
            "pca": jax.jit(lambda a: ml.PCA.fit(a, 3).explained_variance)(gX),
            "ridge": jax.jit(lambda a, b: ml.ridge(a, b, 1.0).coef)(gX, gy),
            "logistic": jax.jit(lambda a, b: ml.logistic_regression(a, b).coef)(gX, glabels),
        }
    # Replicated results are fully addressable on every process.
    out = {k: np.asarray(jax.device_get(v)).tolist() for k, v in results.items()}
    if PID == 0:
        with open(OUT, "w") as f:
            json.dump(out, f)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
