"""Two processes on 127.0.0.1 (``jax.distributed``, gloo, 4 CPU devices each) agree with one.

The workers build global arrays from their own rows and run quantile, Moments, PCA, ridge and
logistic regression; the answers must equal this process's on all the rows. The test binds
only the loopback address and stops by itself (a timeout bounds it).
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlmath_jax import ml, prob

from .multihost_data import rows

HERE = pathlib.Path(__file__).parent
TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("multihost") / "results.json"
    port = _free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "multihost_worker.py"), str(port), str(pid), str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for pid in (0, 1)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT_S)[0])
    finally:
        for p in procs:
            p.kill()
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], f"workers exited with {codes}:\n" + "\n".join(
        log[-3000:] for log in logs
    )
    return json.loads(out.read_text())


def _reference():
    X, y, labels = (jnp.asarray(a) for a in rows())
    m = prob.Moments.from_data(X, axis=0)
    return {
        "quantile": prob.quantile(X, jnp.array([0.1, 0.5, 0.9]), axis=0),
        "moments_mean": m.mean,
        "moments_var": m.variance(ddof=1),
        "pca": ml.PCA.fit(X, 3).explained_variance,
        "ridge": ml.ridge(X, y, 1.0).coef,
        "logistic": ml.logistic_regression(X, labels).coef,
    }


@pytest.mark.parametrize(
    "name", ["quantile", "moments_mean", "moments_var", "pca", "ridge", "logistic"]
)
def test_two_processes_equal_one(two_process_results, name):
    want = np.asarray(jax.device_get(_reference()[name]), np.float64)
    got = np.asarray(two_process_results[name], np.float64)
    assert got.shape == want.shape
    tol = 0.0 if name == "quantile" else 1e-4
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.max(np.abs(want)))
