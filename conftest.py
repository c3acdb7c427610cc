"""Test session set-up: eight CPU devices, for the sharding tests.

The device count must be set before JAX starts a backend, so it happens here, before any test
module runs; single-device code is unaffected (arrays live on device 0 unless sharded). Docstring
examples import what they use: no names are injected into the doctest namespace.
"""

import os

import jax

jax.config.update("jax_num_cpu_devices", int(os.environ.get("MLMATH_TEST_CPU_DEVICES", "8")))
