"""Test session set-up: eight CPU devices (for the sharding tests) and the doctest namespace.

The device count must be set before JAX starts a backend, so it happens here, before any test
module runs; single-device code is unaffected (arrays live on device 0 unless sharded).
"""

import os

import jax

jax.config.update("jax_num_cpu_devices", int(os.environ.get("MLMATH_TEST_CPU_DEVICES", "8")))

import jax.numpy as jnp  # noqa: E402  (after the device count is set)
import pytest  # noqa: E402

from mlmath_jax import calculus, linalg, ml, optim, prob  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(
        jax=jax, jnp=jnp, linalg=linalg, prob=prob, calculus=calculus, optim=optim, ml=ml
    )
